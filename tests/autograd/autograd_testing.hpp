// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the autograd tests: a fixed random weighting and the gradcheck verdict checks.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "testing.hpp"

namespace starbucks::testing {

/// @brief sum(y * w) for a fixed random w of y's shape: a scalar whose gradient reaches every
/// element of y with a different weight. Plain sum(y) would hide errors in ops whose outputs
/// sum to a constant (softmax rows sum to one, so d sum / dx is zero whatever the rule).
template <class V>
auto weighted_sum(const V& y, std::uint64_t seed) {
    namespace ag = starbucks::autograd;
    return ag::sum(ag::mul(y, ag::constant_input(random<double>(y.extents(), seed, -1.0, 1.0))));
}

/// The elements of a var's gradient (or any view), copied into a flat vector in row-major order.
template <class V>
std::vector<double> flat(const V& v) {
    auto c = contiguous(as_const_view(v));
    return std::vector<double>(c.data(), c.data() + c.size());
}

/// True when two vectors of doubles hold the same bits.
inline bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

} // namespace starbucks::testing

/// The checks every gradcheck test makes: it passed (else the worst element is printed) and it
/// compared exactly `n` elements, so a test cannot pass by checking nothing.
#define STARBUCKS_CHECK_GRADCHECK(result, n)                                                                           \
    do {                                                                                                               \
        const auto& gc_result_ = (result);                                                                             \
        INFO(gc_result_.message);                                                                                      \
        CHECK(gc_result_.ok);                                                                                          \
        CHECK(gc_result_.checked > 0);                                                                                 \
        CHECK(gc_result_.checked == static_cast<std::size_t>(n));                                                      \
    } while (false)
