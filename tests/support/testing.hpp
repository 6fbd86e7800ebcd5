// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the test suites: backend lists, random tensors, comparisons.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <starbucks/starbucks.hpp>
#ifdef STARBUCKS_WITH_EIGEN
#include <starbucks/backend/cpu_eigen/cpu_eigen.hpp>
#define STARBUCKS_TEST_EIGEN , ::starbucks::backend::cpu_eigen
#else
#define STARBUCKS_TEST_EIGEN
#endif
#ifdef STARBUCKS_WITH_ONEDNN
#include <starbucks/backend/cpu_onednn/cpu_onednn.hpp>
#define STARBUCKS_TEST_ONEDNN , ::starbucks::backend::cpu_onednn
#else
#define STARBUCKS_TEST_ONEDNN
#endif

namespace starbucks::testing {

/// Every backend the typed suites run on: the reference and each enabled fast backend.
#define STARBUCKS_TEST_BACKENDS ::starbucks::backend::reference STARBUCKS_TEST_EIGEN STARBUCKS_TEST_ONEDNN

/// A reproducible random tensor with values in [lo, hi).
template <class T, class B = backend::reference, class E>
tensor<T, E, B> random(const E& e, std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
    return random_uniform<T, B>(e, rng_stream{seed, 0}, lo, hi);
}

/// Normalised mean squared error ||a - b||^2 / max(||b||^2, tiny), for cross-backend checks.
template <class VA, class VB>
double normalized_mse(const VA& a, const VB& b) {
    REQUIRE(a.dims() == b.dims());
    double num = 0, den = 0;
    const auto va = as_const_view(a);
    const auto vb = as_const_view(b);
    auto ca = contiguous(va);
    auto cb = contiguous(vb);
    for (std::size_t i = 0; i < ca.size(); ++i) {
        const double d = double(ca.data()[i]) - double(cb.data()[i]);
        num += d * d;
        den += double(cb.data()[i]) * double(cb.data()[i]);
    }
    return num / (den > 1e-300 ? den : 1e-300);
}

/// Normwise relative error ||a - b|| / ||b||: the cross-backend tolerance measure.
template <class VA, class VB>
double relative_error(const VA& a, const VB& b) {
    return std::sqrt(normalized_mse(a, b));
}

/// Maximum absolute difference of two tensors of the same shape.
template <class VA, class VB>
double max_abs_diff(const VA& a, const VB& b) {
    REQUIRE(as_const_view(a).dims() == as_const_view(b).dims());
    auto ca = contiguous(as_const_view(a));
    auto cb = contiguous(as_const_view(b));
    double m = 0;
    for (std::size_t i = 0; i < ca.size(); ++i) m = std::max(m, std::abs(double(ca.data()[i]) - double(cb.data()[i])));
    return m;
}

/// The message of the exception `f` throws, or "" when it throws none.
template <class F>
std::string error_message(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

} // namespace starbucks::testing
