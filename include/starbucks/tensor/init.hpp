// SPDX-License-Identifier: Apache-2.0
// Tensor factories: zeros, full, and reproducible random uniform / normal fills from Philox.
#pragma once

#include "../core/rng.hpp"
#include "tensor.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// A tensor of `e` filled with `value`.
template <element T, backend::backend_policy B = backend::reference, extents_type E>
tensor<T, E, B> full(const E& e, T value) {
    tensor<T, E, B> t(e, uninitialized);
    B::fill(B::default_context(), t.size(), value, t.data());
    return t;
}

/// A tensor of `e` filled with zeros.
template <element T, backend::backend_policy B = backend::reference, extents_type E>
tensor<T, E, B> zeros(const E& e) {
    return full<T, B>(e, T(0));
}

/// Uniform in [lo, hi); element i depends only on (rng, i), never on threads or backend.
template <real T, backend::backend_policy B = backend::reference, extents_type E>
tensor<T, E, B> random_uniform(const E& e, rng_stream rng, T lo = T(0), T hi = T(1)) {
    tensor<T, E, B> t(e, uninitialized);
    B::fill_uniform(B::default_context(), t.size(), rng, lo, hi, t.data());
    return t;
}

/// Normal(mean, stddev); element i depends only on (rng, i).
template <real T, backend::backend_policy B = backend::reference, extents_type E>
tensor<T, E, B> random_normal(const E& e, rng_stream rng, T mean = T(0), T stddev = T(1)) {
    tensor<T, E, B> t(e, uninitialized);
    B::fill_normal(B::default_context(), t.size(), rng, mean, stddev, t.data());
    return t;
}

STARBUCKS_NAMESPACE_END
