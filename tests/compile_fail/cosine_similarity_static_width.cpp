// expect: starbucks::cosine_similarity: static widths differ
// SPDX-License-Identifier: Apache-2.0
// cosine_similarity of (dyn, 768) rows with (dyn, 384) rows: the static widths differ.
#include <starbucks/ops/norm.hpp> // the op alone: the header that owns the check

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL the widths agree and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
inline constexpr std::size_t width = 768;
#else
inline constexpr std::size_t width = 384;
#endif

int main() {
    starbucks::tensor<float, starbucks::extents<starbucks::dyn, 768>> a(2);
    starbucks::tensor<float, starbucks::extents<starbucks::dyn, width>> b(3);
    auto s = starbucks::cosine_similarity(a, b);
    return static_cast<int>(s.size() % 2);
}
