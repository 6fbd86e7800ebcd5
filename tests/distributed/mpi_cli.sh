#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `mpiexec -n 2 starbucks train` over loopback, case by case (ctest runs each):
#   train          2 ranks x batch 4 log the losses of 1 process x batch 8 and write one model folder
#   different-data ranks given other files stop before anything is written, each naming rank 1
#   resume         2 ranks resume to bitwise the uninterrupted weights; 1 process resumes only with the same
#                  examples per batch (1 x 8 for 2 x 4), and then logs the same losses
#   rank-dies      SIGKILL of rank 1: the job ends non-zero within seconds, rank 0 says why, checkpoints stay
#   hang           SIGSTOP of rank 1: rank 0 gives up after --collective-timeout with an io_error (exit 4)
#   interrupt      SIGINT to both ranks: they stop at the same step, rank 0 commits a checkpoint and says so once
#   pretrain       SMAE pre-training: 2 ranks x batch 2 log the losses of 1 process x batch 4
#   cuda-no-gpu    --backend cuda on a machine without a GPU: NCCL is opened over MPI and every rank
#                  stops with exit 5 naming cudaGetDeviceCount, before anything is written
# Usage: mpi_cli.sh CASE MPIEXEC STARBUCKS TESTS_DIR WORK_DIR
set -uo pipefail
case_name=$1 mpiexec=$2 exe=$3 tests=$4 work=$5
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
# Open MPI refuses root unless told (CI runs as root); 2 ranks may exceed a small machine's cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
model="$tests/data/tiny-bert-ner"
data="$tests/cli/stsb-train-24.tsv"
common=(train --model "$model" --train "$data" --backend reference --no-dropout)

fail() { echo "FAIL ($case_name): $*"; for f in *.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

# This case's rank processes: `starbucks` (not mpiexec, whose command line names it too) started
# in this folder (other tests may run starbucks at the same time).
here=$(pwd -P)
my_ranks() {
    for p in $(pgrep -f "starbucks train --model"); do
        [ "$(cat "/proc/$p/comm" 2> /dev/null)" = starbucks ] && [ "$(readlink "/proc/$p/cwd")" = "$here" ] && echo "$p"
    done
    return 0
}
# Whatever happens, leave no process of this case behind.
job=""
trap 'kill -KILL $job $(my_ranks) 2> /dev/null' EXIT
# The PID of rank $1 of this case's mpiexec job (its environment says OMPI_COMM_WORLD_RANK).
rank_pid() {
    for p in $(my_ranks); do
        if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then echo "$p"; return 0; fi
    done
    return 1
}

# Waits (at most 120 s) until a complete checkpoint exists under $1.
wait_checkpoint() {
    for _ in $(seq 1 1200); do
        ls "$1"/checkpoint-*/trainer_state.json > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# Losses of metrics.jsonl, one per line.
losses() { sed -n 's/.*"loss":\([^,]*\),.*/\1/p' "$1"; }

case "$case_name" in
cuda-no-gpu)
    if command -v nvidia-smi > /dev/null && nvidia-smi -L > /dev/null 2>&1; then echo "a GPU is present: skipped"; exit 0; fi
    "$mpiexec" -n 2 "$exe" train --model "$model" --train "$data" --backend cuda --max-steps 1 --batch-size 4 --out two > two.log 2>&1
    rc=$?
    [ "$rc" -eq 5 ] || fail "2 ranks exited $rc, not 5"
    grep -q "no CUDA device: cudaGetDeviceCount" two.log || fail "no rank named cudaGetDeviceCount"
    [ ! -e two ] || fail "a model folder was written"
    ;;
train)
    "$exe" "${common[@]}" --max-steps 3 --batch-size 8 --out one > one.log 2>&1 || fail "1 process exited $?"
    "$mpiexec" -n 2 "$exe" "${common[@]}" --max-steps 3 --batch-size 4 --overlap on --out two > two.log 2>&1 || fail "2 ranks exited $?"
    "$mpiexec" -n 2 "$exe" "${common[@]}" --max-steps 3 --batch-size 4 --overlap off --out after > after.log 2>&1 || fail "2 ranks (--overlap off) exited $?"
    [ -f two/model.safetensors ] || fail "no model.safetensors"
    [ "$(wc -l < two/metrics.jsonl)" = 3 ] || fail "metrics.jsonl has $(wc -l < two/metrics.jsonl) lines, not 3 (rank 0 alone writes)"
    grep -q "2 processes over MPI" two.log || fail "no line naming the 2 processes"
    [ "$(grep -c '"gradient_sum_s"' two/metrics.jsonl)" = 3 ] || fail "metrics.jsonl does not record the gradient sum's cost"
    paste <(losses one/metrics.jsonl) <(losses two/metrics.jsonl) > losses.tsv
    awk -F'\t' '{ d = $1 - $2; if (d < 0) d = -d; if (NF != 2 || d > 1e-5 * ($1 < 0 ? -$1 : $1)) bad = 1 } END { exit bad }' losses.tsv ||
        fail "losses differ: $(tr '\n' ' ' < losses.tsv)"
    # Two ranks sum a + b either way: overlapping the sum with backward changes no bit.
    cmp -s two/model.safetensors after/model.safetensors || fail "the model differs with the gradient sum during and after backward"
    "$exe" embed --model two --input "$tests/cli/sentences.txt" --output vectors.tsv > embed.log 2>&1 || fail "embed on the model exited $?"
    echo "ok: losses of 1 process x 8 and 2 ranks x 4: $(tr '\n' ' ' < losses.tsv); the same model with --overlap on and off"
    ;;
different-data)
    head -20 "$data" > other.tsv
    "$mpiexec" -n 1 "$exe" "${common[@]}" --max-steps 3 --batch-size 4 --out run : \
        -n 1 "$exe" train --model "$model" --train other.tsv --backend reference --no-dropout --max-steps 3 --batch-size 4 --out run > run.log 2>&1
    rc=$?
    [ "$rc" = 1 ] || fail "exit $rc, not 1"
    [ "$(grep -c '^starbucks::distributed: rank 1 has other options or training data than rank 0' run.log)" = 2 ] || fail "not one error line per rank"
    [ ! -e run ] || fail "the output folder was created"
    ;;
resume)
    args=("${common[@]}" --max-steps 4 --batch-size 4 --save-steps 1 --keep-checkpoints 4 --out run)
    "$mpiexec" -n 2 "$exe" "${args[@]}" > first.log 2>&1 || fail "first run exited $?"
    cp run/model.safetensors straight.safetensors
    "$exe" "${args[@]}" --resume run/checkpoints/checkpoint-000002 > alone.log 2>&1
    rc=$?
    [ "$rc" = 1 ] || fail "1 process x batch 4 resuming a 2 x 4 checkpoint exited $rc, not 1"
    grep -q '^starbucks::usage_error: .*trainer_state.json: the checkpoint.s run had 2 process(es) x batch size 4 = 8 examples per batch and this run has 1 x 4; resume with the same examples per batch (--batch-size 8)' alone.log ||
        fail "no usage_error naming both batches"
    # 1 process x 8 continues the 2 x 4 run: the same batches, so the same losses up to reassociation.
    cp -r run single && rm -f single/metrics.jsonl.tmp
    args_single=("${common[@]}" --max-steps 4 --batch-size 8 --save-steps 1 --keep-checkpoints 4 --out single)
    "$exe" "${args_single[@]}" --resume single/checkpoints/checkpoint-000002 > single.log 2>&1 || fail "1 process x 8 resuming exited $?"
    paste <(losses run/metrics.jsonl) <(losses single/metrics.jsonl) > losses.tsv
    [ "$(wc -l < losses.tsv)" = 4 ] || fail "not 4 steps after the 1-process resume"
    awk -F'\t' '{ d = $1 - $2; if (d < 0) d = -d; if (NF != 2 || d > 1e-5 * ($1 < 0 ? -$1 : $1)) bad = 1 } END { exit bad }' losses.tsv ||
        fail "the 1-process continuation's losses differ: $(tr '\n' ' ' < losses.tsv)"
    "$mpiexec" -n 2 "$exe" "${args[@]}" --resume run/checkpoints/checkpoint-000002 > again.log 2>&1 || fail "2 ranks resuming exited $?"
    [ "$(wc -l < run/metrics.jsonl)" = 4 ] || fail "metrics.jsonl has $(wc -l < run/metrics.jsonl) lines after the resume, not 4"
    cmp -s run/model.safetensors straight.safetensors || fail "the resumed run's weights differ from the uninterrupted run's"
    ;;
rank-dies | hang)
    extra=()
    [ "$case_name" = hang ] && extra=(--collective-timeout 3)
    # mpirun answers a dead rank with SIGTERM to the others and SIGKILL 1 s later; rank 0 needs
    # 0.5 s to report. 3 s keeps a loaded CI machine from turning that into a race.
    export OMPI_MCA_odls_base_sigkill_timeout=3
    "$mpiexec" -n 2 "$exe" "${common[@]}" --max-steps 100000000 --batch-size 4 --save-steps 200 "${extra[@]}" --out run > run.log 2>&1 &
    job=$!
    wait_checkpoint run/checkpoints || fail "no checkpoint within 120 s"
    victim=$(rank_pid 1) || fail "rank 1 not found"
    start=$(date +%s)
    if [ "$case_name" = hang ]; then kill -STOP "$victim"; else kill -KILL "$victim"; fi
    for _ in $(seq 1 600); do kill -0 "$job" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$job" 2> /dev/null && fail "still running 60 s after rank 1 was stopped"
    wait "$job"
    rc=$?
    echo "mpiexec ended $(($(date +%s) - start)) s after rank 1 was hit, exit $rc"
    [ "$rc" != 0 ] || fail "exit 0"
    if [ "$case_name" = hang ]; then
        [ "$rc" = 4 ] || fail "exit $rc, not 4"
        grep -q '^starbucks::distributed::mpi_communicator: .* on rank 0 of 2: no answer from the other ranks after 3 s' run.log || fail "rank 0 did not report the timeout"
    else
        grep -q '^starbucks::distributed::mpi_communicator: .* on rank 0 of 2: stopped by signal 15' run.log || fail "rank 0 did not say why it stops"
    fi
    latest=$(ls -d run/checkpoints/checkpoint-* | tail -1)
    "$exe" inspect --model "$latest" > inspect.log 2>&1 || fail "the last checkpoint $latest does not load"
    ;;
interrupt)
    "$mpiexec" -n 2 "$exe" "${common[@]}" --max-steps 100000000 --batch-size 4 --save-steps 100000000 --out run > run.log 2>&1 &
    job=$!
    for _ in $(seq 1 600); do [ -s run/metrics.jsonl ] && break; sleep 0.1; done
    [ -s run/metrics.jsonl ] || fail "no step within 60 s"
    ranks=$(my_ranks)
    [ "$(echo $ranks | wc -w)" = 2 ] || fail "not 2 rank processes: $ranks"
    kill -INT $ranks # SIGINT to both ranks, as a launcher that forwards it does
    for _ in $(seq 1 600); do kill -0 "$job" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$job" 2> /dev/null && fail "still running 60 s after SIGINT"
    wait "$job"
    [ "$(grep -c '^starbucks::interrupted: interrupted after step [0-9]*; checkpoint run/checkpoints/checkpoint-[0-9]* committed' run.log)" = 1 ] ||
        fail "not exactly one interrupted line (rank 0's)"
    step=$(sed -n 's/^starbucks::interrupted: interrupted after step \([0-9]*\);.*/\1/p' run.log)
    [ "$(wc -l < run/metrics.jsonl)" = "$step" ] || fail "metrics.jsonl has $(wc -l < run/metrics.jsonl) lines, the checkpoint step is $step"
    "$exe" inspect --model "$(ls -d run/checkpoints/checkpoint-* | tail -1)" > inspect.log 2>&1 || fail "the committed checkpoint does not load"
    ;;
pretrain)
    corpus="$tests/cli/sentences.txt"
    pt=(pretrain --init "$model" --corpus "$corpus" --steps 2 --max-length 16 --backend reference --no-dropout)
    "$exe" "${pt[@]}" --batch-size 4 --out one > one.log 2>&1 || fail "1 process exited $?"
    "$mpiexec" -n 2 "$exe" "${pt[@]}" --batch-size 2 --overlap on --out two > two.log 2>&1 || fail "2 ranks exited $?"
    [ -f two/model.safetensors ] || fail "no model.safetensors"
    grep -q "2 processes over MPI" two.log || fail "no line naming the 2 processes"
    paste <(losses one/metrics.jsonl) <(losses two/metrics.jsonl) > losses.tsv
    [ "$(wc -l < losses.tsv)" = 2 ] || fail "not 2 steps"
    awk -F'\t' '{ d = $1 - $2; if (d < 0) d = -d; if (NF != 2 || d > 1e-5 * ($1 < 0 ? -$1 : $1)) bad = 1 } END { exit bad }' losses.tsv ||
        fail "losses differ: $(tr '\n' ' ' < losses.tsv)"
    echo "ok: pre-training losses of 1 process x 4 and 2 ranks x 2: $(tr '\n' ' ' < losses.tsv)"
    ;;
*) fail "unknown case" ;;
esac
echo "ok: $case_name"
