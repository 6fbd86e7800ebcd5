// expect: starbucks::kl_div: static extents differ
// SPDX-License-Identifier: Apache-2.0
// kl_div of log-distributions (dyn, 16) and (dyn, 8): the static class counts differ.
#include <starbucks/ops/loss.hpp> // the op alone: the header that owns the check

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL the extents agree and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
inline constexpr std::size_t classes = 16;
#else
inline constexpr std::size_t classes = 8;
#endif

int main() {
    starbucks::tensor<float, starbucks::extents<starbucks::dyn, 16>> log_q(2);
    starbucks::tensor<float, starbucks::extents<starbucks::dyn, classes>> log_p(2);
    auto kl = starbucks::kl_div(log_q, log_p);
    return static_cast<int>(kl.size() % 2);
}
