#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The STS comparison of issue 5 / docs/results-sts.md: all-MiniLM-L6-v2 fine-tuned on STS-B train
# with CoSENT by each strategy (starbucks = SRL, 2dmse, separate, full) with the same budget and
# seed, then every trained pair scored on STS-B test, plus the untouched model cut post hoc.
#
# Usage: examples/scripts/sts_strategies.sh STARBUCKS_EXE MODEL_DIR OUT_DIR [STEPS]
# Two strategies train at a time, one thread each (a 2-core machine).
set -euo pipefail
exe=$1 model=$2 out=$3 steps=${4:-120}
common=(--task sts --model "$model" --train examples/data/stsb-train.tsv --loss cosent --max-steps "$steps"
        --batch-size 16 --max-length 64 --lr 5e-5 --warmup 0.1 --seed 42 --threads 1)
mkdir -p "$out"
run() { # name strategy-args...
    local name=$1; shift
    /usr/bin/time -f "$name train wall %e s" "$exe" train "${common[@]}" "$@" --out "$out/$name" > "$out/$name.train.log" 2>&1
}
evaluate() { # name model
    /usr/bin/time -f "$1 eval wall %e s" "$exe" eval sts --model "$2" --data stsb --threads 1 --out "$out/$1.eval" \
        > "$out/$1.eval.txt" 2> "$out/$1.eval.log"
}
{ run starbucks --strategy starbucks && evaluate starbucks "$out/starbucks" && run full --strategy full && evaluate full "$out/full"; } &
{ run 2dmse --strategy 2dmse && evaluate 2dmse "$out/2dmse" && run separate --strategy separate && evaluate separate "$out/separate"; } &
wait
# The untouched model at the same pairs (cut post hoc), for the paper's "BERT" row and the targets.
"$exe" eval sts --model "$model" --data stsb --pairs "$(python3 -c "import json;print(','.join(f'{a}:{b}' for a,b in json.load(open('$out/starbucks/starbucks_config.json'))['pairs']))")" \
    --threads 2 --out "$out/untouched.eval" > "$out/untouched.eval.txt" 2> "$out/untouched.eval.log"
for f in starbucks 2dmse separate full untouched; do echo "== $f"; cat "$out/$f.eval.txt"; done
