#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The gradient sum overlapped with backward (--overlap on) against after it (--overlap off):
# `mpiexec -n 2 starbucks train`, one thread per process, SRL on STS-B train, dropout off,
# the two alternated REPEATS times. Per run: the step time (elapsed at the last step minus at
# step 2, over STEPS - 2) and rank 0's mean gradient-sum cost per step after warm-up from
# metrics.jsonl (gradient_sum_s after backward, gradient_sum_during_backward_s during it).
# Usage: [STARBUCKS_SCALING_ARGS="--max-length 16"] benchmarks/overlap_mpi.sh STARBUCKS MODEL_DIR [B] [STEPS] [REPEATS]
source "$(dirname "$0")/mpi_common.sh"
run() { # name, more flags...
    local name=$1
    shift
    rm -rf "$work/$name"
    mpiexec -n 2 --bind-to core "$exe" "${args[@]}" --batch-size "$batch" --out "$work/$name" "$@" > "$work/$name.log" 2>&1 ||
        { tail -5 "$work/$name.log"; exit 1; }
    awk -v n="$steps" -v name="$name" '
        { match($0, /"elapsed_s":[0-9.e+-]+/); e = substr($0, RSTART + 12, RLENGTH - 12); if (NR == 2) a = e; if (NR == n) b = e }
        NR > 2 { match($0, /"gradient_sum_s":[0-9.e+-]+/); w += substr($0, RSTART + 17, RLENGTH - 17)
                 match($0, /"gradient_sum_during_backward_s":[0-9.e+-]+/); d += substr($0, RSTART + 33, RLENGTH - 33); k++ }
        END { printf "%-12s step %.4f s   gradient sum on rank 0: after backward %.4f s, during it %.4f s\n", name, (b - a) / (n - 2), w / k, d / k }' \
        "$work/$name/metrics.jsonl"
}
for r in $(seq 1 "$repeats"); do
    run overlapped --overlap on
    run after --overlap off
done
