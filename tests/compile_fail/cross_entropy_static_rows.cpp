// expect: starbucks::cross_entropy: static row counts differ
// SPDX-License-Identifier: Apache-2.0
// cross_entropy of logits (8, 30522) against 4 labels: the static row counts differ.
#include <cstdint>

#include <starbucks/ops/loss.hpp> // the op alone: the header that owns the check

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL there is one label per row and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
inline constexpr std::size_t label_rows = 8;
#else
inline constexpr std::size_t label_rows = 4;
#endif

int main() {
    starbucks::tensor<float, starbucks::extents<8, starbucks::dyn>> logits(5);
    starbucks::tensor<std::int64_t, starbucks::extents<label_rows>> labels;
    auto loss = starbucks::cross_entropy(logits, labels);
    return static_cast<int>(loss.size() % 2);
}
