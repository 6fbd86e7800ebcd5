// SPDX-License-Identifier: Apache-2.0
// Dropout with a counter-based mask: identical for a seed on any thread count or backend.
#pragma once

#include "../core/rng.hpp"
#include "detail/operand.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// The output of dropout: y and the mask (0 or 1 / (1 - p)) the backward pass multiplies by.
template <class T, class E, class B>
struct dropout_result {
    tensor<T, E, B> y, mask;
};

/// @brief Zeroes each element with probability p and scales the rest by 1 / (1 - p). Element i
/// is dropped when rng.uniform(i) < p.
/// @throws usage_error when p is outside [0, 1].
template <tensor_like X> requires real<value_type_t<X>>
auto dropout(const X& x, value_type_t<X> p, rng_stream rng) {
    using T = value_type_t<X>;
    using B = backend_t<X>;
    if (!(p >= T(0) && p <= T(1))) throw usage_error("starbucks::dropout", "probability " + std::to_string(p) + " is outside [0, 1]");
    auto v = as_const_view(x);
    contiguous_input in(v);
    dropout_result<T, extents_t<X>, B> r{tensor<T, extents_t<X>, B>(v.extents(), uninitialized),
                                         tensor<T, extents_t<X>, B>(v.extents(), uninitialized)};
    B::dropout(B::default_context(), v.size(), p, rng, in.data(), r.y.data(), r.mask.data());
    return r;
}

STARBUCKS_NAMESPACE_END
