// expect: starbucks::layer_norm: static width of gamma or beta differs from the last extent of x
// SPDX-License-Identifier: Apache-2.0
// layer_norm of (dyn, 768) with a gamma of static width 384.
#include <starbucks/ops/norm.hpp> // the op alone: the header that owns the check

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL gamma matches and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
inline constexpr std::size_t gamma_width = 768;
#else
inline constexpr std::size_t gamma_width = 384;
#endif

int main() {
    starbucks::tensor<float, starbucks::extents<starbucks::dyn, 768>> x(4);
    starbucks::tensor<float, starbucks::extents<gamma_width>> gamma;
    starbucks::tensor<float, starbucks::extents<768>> beta;
    auto y = starbucks::layer_norm(x, gamma, beta, 1e-12f);
    return static_cast<int>(y.size() % 2);
}
