#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/results-smae.md: SRL after SMAE vs SRL after plain MLM vs SRL from random initialisation,
# on the main job's small BERT with the main job's budget and seed, each scored on the STS-B test grid.
#
# Usage: examples/scripts/smae_ablation.sh STARBUCKS_EXE OUT_DIR [PRETRAIN_STEPS] [TRAIN_STEPS]
# (SKIP_RANDOM=1 leaves out the random-initialisation row, which does not depend on PRETRAIN_STEPS.)
set -euo pipefail
exe=$1 out=$2 pre=${3:-50} steps=${4:-120}
mkdir -p "$out"
pretrain() { # objective
    /usr/bin/time -f "$1 pretrain wall %e s" "$exe" pretrain --config examples/models/small-bert/config.json \
        --corpus examples/data/corpus.txt --objective "$1" --max-length 64 --batch-size 32 --steps "$pre" --lr 1e-3 \
        --warmup 0.05 --seed 42 --quiet --out "$out/$1-pretrained"
}
finetune() { # name model
    /usr/bin/time -f "$1 train wall %e s" "$exe" train --model "$2" --train examples/data/stsb-train.tsv --strategy starbucks \
        --loss cosent --max-steps "$steps" --batch-size 32 --max-length 64 --lr 2e-4 --warmup 0.1 --seed 42 --out "$out/$1-srl" \
        > "$out/$1.train.log" 2>&1
    "$exe" eval sts --model "$out/$1-srl" --data stsb --grid --out "$out/$1-report" > "$out/$1.grid.txt" 2> "$out/$1.eval.log"
}
pretrain smae && finetune smae "$out/smae-pretrained"
pretrain mlm && finetune mlm "$out/mlm-pretrained"
# Random initialisation: the same config and vocabulary, weights from --seed 42, no pre-training
# (one step at lr 1e-30 writes the initial weights as a model folder; the update is below float
# resolution).
if [ "${SKIP_RANDOM:-0}" = 1 ]; then
    for f in smae mlm; do echo "== SRL after $f"; cat "$out/$f.grid.txt"; done
    exit 0
fi
"$exe" pretrain --config examples/models/small-bert/config.json --corpus examples/data/corpus.txt --steps 1 --lr 1e-30 \
    --warmup 0 --seed 42 --quiet --out "$out/random-init"
finetune random "$out/random-init"
for f in smae mlm random; do echo "== SRL after $f"; cat "$out/$f.grid.txt"; done
