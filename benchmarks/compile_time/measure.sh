#!/usr/bin/env bash
# Times `g++ -std=c++20 -O2 -c` of the compile-time probe (best of 5) from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
cxx=${CXX:-g++}
best=""
for i in 1 2 3 4 5; do
  start=$(date +%s.%N)
  "$cxx" -std=c++20 -O2 -Iinclude -c benchmarks/compile_time/umbrella_tensor.cpp -o /tmp/starbucks_probe.o
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
echo "$cxx $("$cxx" --version | head -1 | sed 's/.* //'): best of 5: ${best} s"
