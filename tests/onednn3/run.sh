#!/usr/bin/env bash
# The backend suite (every op on every backend against the reference) built and run against
# oneDNN 3.x instead of Debian's 2.6: cpu_onednn guards the API differences on
# DNNL_VERSION_MAJOR, and vcpkg and Conan ship 3.x. Uses Intel's oneDNN wheels from PyPI
# (headers: onednn-devel-cpu-gomp, library: onednn-cpu-gomp) and a configured `ci` build for
# the generated unity source and the doctest main. Not part of CI (it downloads ~40 MB).
# Run: tests/onednn3/run.sh [build/ci] [2023.2.0]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/ci}
version=${2:-2023.2.0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps -d "$work" "onednn-devel-cpu-gomp==$version" "onednn-cpu-gomp==$version"
for w in "$work"/*.whl; do (cd "$work" && python3 -m zipfile -e "$w" .); done
inc=$(dirname "$(find "$work" -path '*/include/oneapi/dnnl/dnnl.hpp' | head -1)")/../..
lib=$(dirname "$(find "$work" -name 'libdnnl.so.3' | head -1)")
cmake --build "$build" --target test_backend >/dev/null # the unity source and the doctest main
unity="$build/tests/CMakeFiles/test_backend.dir/Unity/unity_0_cxx.cxx"
main="$build/tests/CMakeFiles/starbucks_doctest_main.dir/support/doctest_main.cpp.o"
c++ -std=gnu++20 -O2 -DNDEBUG -Wall -Wextra -Wpedantic -Werror -fopenmp \
    -DSTARBUCKS_WITH_EIGEN=1 -DSTARBUCKS_WITH_ONEDNN=1 -DSTARBUCKS_WITH_TEXT=1 \
    -I"$inc" -Itests/support -Iinclude -isystem /usr/include/eigen3 \
    -c "$unity" -o "$work/unity.o"
c++ -fopenmp "$main" "$work/unity.o" -o "$work/test_backend_onednn3" -Wl,-rpath,"$lib" "$lib/libdnnl.so.3" -lutf8proc
echo "oneDNN used: $(ldd "$work/test_backend_onednn3" | grep -o 'libdnnl.so.[0-9]* => [^ ]*')"
"$work/test_backend_onednn3"
