#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Data-parallel scaling of `starbucks train` on one machine: 1 process against `mpiexec -n 2`,
# one thread per process, SRL (CoSENT + KL) on STS-B train, dropout off, runs alternated.
#   strong: the same global batch (1 x 2B against 2 x B): speedup = t1 / t2, efficiency = speedup / 2
#   weak:   the same batch per process (1 x B against 2 x B): efficiency = t1 / t2
#   ceiling: two independent 1 x B processes at once: what sharing the machine (caches, memory
#            bandwidth) costs without any communication; 2 x B against it isolates our overhead
# Step time = (elapsed at the last step - elapsed at step 2) / (steps - 2), from metrics.jsonl.
# Usage: [STARBUCKS_SCALING_ARGS="--max-length 16"] benchmarks/scaling_mpi.sh STARBUCKS MODEL_DIR [B] [STEPS] [REPEATS]
source "$(dirname "$0")/mpi_common.sh"

step_time() { # metrics.jsonl -> seconds per step after warm-up
    awk -v n="$steps" '{ match($0, /"elapsed_s":[0-9.e+-]+/); e = substr($0, RSTART + 12, RLENGTH - 12); if (NR == 2) a = e; if (NR == n) b = e }
                       END { printf "%.4f\n", (b - a) / (n - 2) }' "$1"
}
run() { # name, launcher words..., -- batch
    local name=$1 batch_size=$2
    shift 2
    rm -rf "$work/$name"
    "$@" "$exe" "${args[@]}" --batch-size "$batch_size" --out "$work/$name" > "$work/$name.log" 2>&1 || { tail -5 "$work/$name.log"; exit 1; }
    step_time "$work/$name/metrics.jsonl"
}

printf "%-8s %10s %10s %10s %12s\n" repeat "1 x 2B" "1 x B" "2 x B" "2 alone x B"
declare -a big one two pair
for r in $(seq 1 "$repeats"); do
    big[$r]=$(run big "$((2 * batch))" env)
    one[$r]=$(run one "$batch" env)
    two[$r]=$(run two "$batch" mpiexec -n 2 --bind-to core)
    run alone1 "$batch" taskset -c 0 > "$work/alone1.t" & run alone2 "$batch" taskset -c 1 > "$work/alone2.t"
    wait
    pair[$r]=$(cat "$work/alone1.t" "$work/alone2.t" | sort -g | tail -1)
    printf "%-8s %10s %10s %10s %12s\n" "$r" "${big[$r]}" "${one[$r]}" "${two[$r]}" "${pair[$r]}"
done
median() { printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
t_big=$(median "${big[@]}") t_one=$(median "${one[@]}") t_two=$(median "${two[@]}") t_pair=$(median "${pair[@]}")
echo "medians (s/step): 1 x $((2 * batch)): $t_big, 1 x $batch: $t_one, 2 x $batch: $t_two, two independent 1 x $batch at once: $t_pair"
awk -v b="$t_big" -v o="$t_one" -v t="$t_two" -v p="$t_pair" 'BEGIN {
    printf "machine ceiling: two independent processes run at %.0f %% of one alone; 2 ranks reach %.0f %% of that ceiling\n", 100 * o / p, 100 * p / t
    printf "strong scaling (global batch %s): speedup %.2f, efficiency %.0f %%\n", "'$((2 * batch))'", b / t, 50 * b / t
    printf "weak scaling (batch %s per process): efficiency %.0f %% (examples/s x %.2f)\n", "'"$batch"'", 100 * o / t, 2 * o / t }'
