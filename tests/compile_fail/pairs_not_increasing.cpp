// expect: starbucks::matryoshka::pairs: layers and dims must both increase strictly
// SPDX-License-Identifier: Apache-2.0
// A pair list whose dims shrink from (4,64) to (6,32): rejected by static_assert.
#include <starbucks/matryoshka/pairs.hpp>

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL the third pair is (6,128) and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
inline constexpr std::size_t third_dim = 128;
#else
inline constexpr std::size_t third_dim = 32;
#endif

namespace mt = starbucks::matryoshka;

int main() {
    using list = mt::pairs<mt::pair<2, 32>, mt::pair<4, 64>, mt::pair<6, third_dim>>;
    return static_cast<int>(list::size() % 2);
}
