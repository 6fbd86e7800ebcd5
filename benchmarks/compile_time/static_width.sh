#!/usr/bin/env bash
# Compile time of benchmarks/static_width.cpp with only the static-width layer, only the
# dynamic one, and both (g++ -std=c++20 -O2 -c, oneDNN backend, best of 3 each), from the
# repository root. docs/compile_time.md records the figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
cxx=${CXX:-g++}
time_variant() { # label extra-flags...
  local label=$1 best=""; shift
  for i in 1 2 3; do
    local start end t
    start=$(date +%s.%N)
    "$cxx" -std=c++20 -O2 -Iinclude -DSTARBUCKS_WITH_ONEDNN -fopenmp "$@" -c benchmarks/static_width.cpp -o /tmp/starbucks_static_width.o
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  echo "$label: best of 3: ${best} s"
}
echo "$cxx $("$cxx" --version | head -1 | sed 's/.* //')"
time_variant "dynamic widths only" -DSTARBUCKS_STATIC_WIDTH_ONLY=0
time_variant "static widths only" -DSTARBUCKS_STATIC_WIDTH_ONLY=1
time_variant "both" 
