// expect: starbucks::add: static extents do not broadcast
// SPDX-License-Identifier: Apache-2.0
// add of (dyn, 768) and a bias of 384: the static last extents neither agree nor are 1.
#include <starbucks/ops/elementwise.hpp> // the op alone: the header that owns the check

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL the bias matches and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
inline constexpr std::size_t bias_width = 768;
#else
inline constexpr std::size_t bias_width = 384;
#endif

int main() {
    starbucks::tensor<float, starbucks::extents<starbucks::dyn, 768>> x(4);
    starbucks::tensor<float, starbucks::extents<bias_width>> bias;
    auto y = starbucks::add(x, bias);
    return static_cast<int>(y.size() % 2);
}
