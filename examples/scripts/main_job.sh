#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job (DESIGN.md): the whole Starbucks pipeline on data that ships with the repository.
#   1. SMAE pre-training (METHOD.md §4) of a small BERT (6 layers × 256, an 8192-piece vocabulary
#      fitted to the corpus) from random initialisation on examples/data/corpus.txt
#      (WikiText-2 test paragraphs + STS-B train sentences);
#   2. SRL fine-tuning (METHOD.md §2.1: CoSENT at every (layers, dims) pair + KL to the largest)
#      on STS-B train;
#   3. the grid over every layer × every dim of the pair list on STS-B test and the other STS
#      sets of METHOD.md §5 (STS12–16, SICK-R) and their average (printed; report.json,
#      results.csv and heatmap-*.svg under OUT/report).
#
# Usage: examples/scripts/main_job.sh [OUT] [--init DIR]
#   OUT          output folder (default runs/main; it must not exist or be empty)
#   --init DIR   real use: start SMAE from a Hugging Face BERT checkpoint instead of a random
#                small BERT (its own vocabulary and size; every stage runs longer)
# Budget knobs (environment): PRETRAIN_STEPS (default 50), TRAIN_STEPS (default 120, 2/3 of an epoch at
# batch 32), STARBUCKS (the executable, default build/release/examples/starbucks).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=runs/main init=()
while [ $# -gt 0 ]; do
    case $1 in
        --init) init=(--init "$2"); shift 2 ;;
        *) out=$1; shift ;;
    esac
done
exe=${STARBUCKS:-build/release/examples/starbucks}
pretrain_steps=${PRETRAIN_STEPS:-50}
train_steps=${TRAIN_STEPS:-120}
[ -x "$exe" ] || { echo "main_job.sh: $exe is missing; build it with: cmake --preset release && cmake --build --preset release --target starbucks_cli" >&2; exit 2; }
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then echo "main_job.sh: $out is not empty; choose a new folder" >&2; exit 2; fi
mkdir -p "$out"
# From random weights the small BERT takes large steps; a real checkpoint gets METHOD.md's
# pre-training rate and a fine-tuning rate that keeps what it knows.
if [ ${#init[@]} -eq 0 ]; then
    model=(--config examples/models/small-bert/config.json) pretrain_lr=1e-3 train_lr=2e-4
else
    model=("${init[@]}") pretrain_lr=1e-4 train_lr=5e-5
fi

start=$(date +%s)
stage() { echo; echo "== $1 ($(( $(date +%s) - start )) s so far)"; }

stage "1/3 SMAE pre-training: $pretrain_steps steps of 32 sequences ≤ 64 tokens"
"$exe" pretrain "${model[@]}" --corpus examples/data/corpus.txt --objective smae --max-length 64 --batch-size 32 \
    --steps "$pretrain_steps" --lr "$pretrain_lr" --warmup 0.05 --seed 42 --out "$out/pretrained"

stage "2/3 SRL fine-tuning on STS-B train: $train_steps steps of 32 pairs"
"$exe" train --model "$out/pretrained" --train examples/data/stsb-train.tsv --strategy starbucks --loss cosent \
    --max-steps "$train_steps" --batch-size 32 --max-length 64 --lr "$train_lr" --warmup 0.1 --seed 42 --out "$out/srl"

stage "3/3 the full layers × dims grid on STS-B test, STS12-16 and SICK-R, and their average (Spearman × 100)"
"$exe" eval sts --model "$out/srl" --all-sts --grid --out "$out/report"

echo
echo "main job done in $(( $(date +%s) - start )) s: model $out/srl, report $out/report/report.json, $out/report/results.csv, $out/report/heatmap-{stsb,average,…}.svg"
