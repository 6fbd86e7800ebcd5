// expect: starbucks::masked_mean: static extents of x and mask differ
// SPDX-License-Identifier: Apache-2.0
// masked_mean of x (dyn, 128, 768) with a mask (dyn, 64): the static token counts differ.
#include <starbucks/ops/gather.hpp> // the op alone: the header that owns the check

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL the token counts agree and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
inline constexpr std::size_t mask_tokens = 128;
#else
inline constexpr std::size_t mask_tokens = 64;
#endif

int main() {
    starbucks::tensor<float, starbucks::extents<starbucks::dyn, 128, 768>> x(2);
    starbucks::tensor<float, starbucks::extents<starbucks::dyn, mask_tokens>> mask(2);
    auto y = starbucks::masked_mean(x, mask);
    return static_cast<int>(y.size() % 2);
}
