// expect: starbucks::matmul: static inner extents differ
// SPDX-License-Identifier: Apache-2.0
// matmul of (dyn, 768) by (384, 128): both inner extents are static and differ.
#include <starbucks/ops/gemm.hpp> // the op alone: the header that owns the check

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL the inner extents agree and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
inline constexpr std::size_t rhs_rows = 768;
#else
inline constexpr std::size_t rhs_rows = 384;
#endif

int main() {
    starbucks::tensor<float, starbucks::extents<starbucks::dyn, 768>> x(32);
    starbucks::tensor<float, starbucks::extents<rhs_rows, 128>> w;
    auto y = starbucks::matmul(x, w);
    return static_cast<int>(y.size() % 2);
}
