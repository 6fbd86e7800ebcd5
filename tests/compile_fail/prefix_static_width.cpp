// expect: starbucks::prefix: static width exceeds the static extent
// SPDX-License-Identifier: Apache-2.0
// prefix<1024> of a tensor whose last extent is a static 768.
#include <starbucks/tensor/slice.hpp> // the op alone: the header that owns the check

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL the width fits and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
inline constexpr std::size_t width = 512;
#else
inline constexpr std::size_t width = 1024;
#endif

int main() {
    starbucks::tensor<float, starbucks::extents<starbucks::dyn, 768>> x(4);
    auto p = starbucks::prefix<width>(x);
    return static_cast<int>(p.size() % 2);
}
