#!/usr/bin/env bash
# The GPU checks of the CUDA backend, as one script for a machine with an NVIDIA GPU (the device
# tool's H200): build with nvcc, run the `cuda` test suite (failing if any case was skipped for
# want of a device), run it again under compute-sanitizer memcheck and racecheck, then measure
# backend::cuda's GEMM in BERT-base shapes against the device's dense bf16 peak and, where torch
# with CUDA is installed, torch.matmul on the same shapes in the same run. Prints one summary.
#
#   benchmarks/gpu/run.sh [build-dir]        (default build/gpu)
#
# Not yet here: a BERT-base SRL step on the device against PyTorch AMP, and compute-sanitizer on
# a short SRL run: `starbucks train --device cuda` does not exist yet (docs/architecture.md).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/gpu}
export PATH=/usr/local/cuda/bin:$PATH
summary=()
note() { summary+=("$1"); echo "== $1"; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || note "nvidia-smi failed"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTARBUCKS_WITH_CUDA=ON -DSTARBUCKS_REQUIRE_CUDA=ON \
      -DSTARBUCKS_BUILD_EXAMPLES=OFF -DSTARBUCKS_BUILD_BENCHMARKS=ON -DSTARBUCKS_WITH_TEXT=OFF >"$build.configure.log" 2>&1 \
  || { tail -20 "$build.configure.log"; echo "configure failed"; exit 1; }
cmake --build "$build" --target test_cuda bench_gemm_cuda -j "$(nproc)" >"$build.build.log" 2>&1 \
  || { grep -m 20 -E "error" "$build.build.log"; echo "build failed"; exit 1; }
note "build: ok"

out=$(cd "$build" && ctest -L cuda --output-on-failure 2>&1); rc=$?
echo "$out" | tail -25
skipped=$(echo "$out" | grep -c "(Skipped)")
note "cuda suite: rc=$rc, $(echo "$out" | grep -E '^[0-9]+% tests passed' | head -1), skipped=$skipped"

for tool in memcheck racecheck; do
  if command -v compute-sanitizer >/dev/null; then
    compute-sanitizer --tool "$tool" --error-exitcode 9 "$build/tests/test_cuda" >"$build.$tool.log" 2>&1
    note "compute-sanitizer $tool on the cuda suite: rc=$? ($(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$build.$tool.log" | tail -1))"
  else
    note "compute-sanitizer not found"
  fi
done

"$build/benchmarks/bench_gemm_cuda" | tee "$build.gemm.txt"
note "gemm: $(grep -c TF "$build.gemm.txt" || true) lines, see above"
if python3 -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  python3 benchmarks/gpu/torch_gemm.py | tee "$build.torch.txt"
  note "torch.matmul on the same shapes: see above"
else
  note "torch with CUDA not installed here: no PyTorch side in this run"
fi
echo
echo "== summary"
printf '%s\n' "${summary[@]}"
