#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The STS comparison of issue 5 / docs/results-sts.md: all-MiniLM-L6-v2 fine-tuned on STS-B train
# with CoSENT by each strategy (starbucks = SRL, 2dmse, separate, full) with the same budget and
# seed, then every model scored on the 7 STS sets (the trained pairs and, but for separate, the
# whole layers x dims grid), plus the untouched model cut post hoc.
#
# Usage: examples/scripts/sts_strategies.sh STARBUCKS_EXE MODEL_DIR OUT_DIR [BUDGET]
#   BUDGET: optimizer steps (default 120), or "4ep" for 4 epochs (METHOD.md's STS-B setting).
# Two lanes run side by side, one thread each (a 2-core machine): starbucks, full and 2dmse in one,
# separate (6 models of 1..6 layers, about as long as the other three together) in the other.
set -euo pipefail
exe=$1 model=$2 out=$3 budget=${4:-120}
case $budget in
    *ep) budget_args=(--epochs "${budget%ep}") ;;
    *) budget_args=(--max-steps "$budget") ;;
esac
common=(--task sts --model "$model" --train examples/data/stsb-train.tsv --loss cosent "${budget_args[@]}"
        --batch-size 16 --max-length 64 --lr 5e-5 --warmup 0.1 --seed 42 --threads 1)
mkdir -p "$out"
run() { # name strategy-args...
    local name=$1; shift
    /usr/bin/time -f "$name train wall %e s" "$exe" train "${common[@]}" "$@" --out "$out/$name" > "$out/$name.train.log" 2>&1
}
evaluate() { # name model [eval-args...]
    local name=$1 dir=$2; shift 2
    /usr/bin/time -f "$name eval wall %e s" "$exe" eval sts --model "$dir" --all-sts --threads 1 "$@" --out "$out/$name.eval" \
        > "$out/$name.eval.txt" 2> "$out/$name.eval.log"
}
{ run starbucks --strategy starbucks && evaluate starbucks "$out/starbucks" --grid &&
  run full --strategy full && evaluate full "$out/full" --grid &&
  run 2dmse --strategy 2dmse && evaluate 2dmse "$out/2dmse" --grid; } &
{ run separate --strategy separate && evaluate separate "$out/separate" &&
  evaluate untouched "$model" --grid --pairs "$(python3 -c "import json;print(','.join(f'{a}:{b}' for a,b in json.load(open('$out/separate/starbucks_config.json'))['pairs']))")"; } &
wait
for f in starbucks 2dmse separate full untouched; do echo "== $f"; cat "$out/$f.eval.txt"; done
