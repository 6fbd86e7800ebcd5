// expect: starbucks::concat: static extents off the concatenation axis differ
// SPDX-License-Identifier: Apache-2.0
// concat along axis 0 of (2, 768) and (3, 384): the static extents of axis 1 differ.
#include <starbucks/ops/copy.hpp> // the op alone: the header that owns the check

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL axis 1 agrees and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
inline constexpr std::size_t width = 768;
#else
inline constexpr std::size_t width = 384;
#endif

int main() {
    starbucks::tensor<float, starbucks::extents<2, 768>> a;
    starbucks::tensor<float, starbucks::extents<3, width>> b;
    auto c = starbucks::concat<0>(a, b);
    return static_cast<int>(c.size() % 2);
}
