// SPDX-License-Identifier: Apache-2.0
// Softmax and log-softmax along the last axis, optionally with an additive (broadcast) mask.
#pragma once

#include "elementwise.hpp"

STARBUCKS_NAMESPACE_BEGIN

namespace detail {
template <tensor_like X>
auto softmax_impl(const X& x, bool log) {
    using T = value_type_t<X>;
    using B = backend_t<X>;
    static_assert(extents_t<X>::rank() >= 1, "starbucks::softmax: needs rank >= 1");
    auto v = as_const_view(x);
    contiguous_input in(v);
    tensor<T, extents_t<X>, B> y(v.extents(), uninitialized);
    const auto [rows, cols] = rows_cols(v.dims());
    if (cols == 0 && rows == 0) return y;
    B::softmax(B::default_context(), rows, cols, in.data(), y.data(), log);
    return y;
}
} // namespace detail

/// softmax along the last axis; an all -inf row gives zeros.
template <tensor_like X> requires real<value_type_t<X>>
auto softmax(const X& x) { return detail::softmax_impl(x, false); }

/// log-softmax along the last axis; an all -inf row gives -inf.
template <tensor_like X> requires real<value_type_t<X>>
auto log_softmax(const X& x) { return detail::softmax_impl(x, true); }

/// softmax(x + mask) with an additive mask that broadcasts to x (e.g. (B,1,1,T) over (B,H,T,T)).
template <tensor_like X, tensor_like M> requires detail::same_kind<X, M>
auto softmax(const X& x, const M& mask) {
    static_assert(extents_broadcastable<extents_t<X>, extents_t<M>>(), "starbucks::softmax: static mask extents do not broadcast");
    auto v = as_const_view(x);
    auto s = detail::broadcast_shape("starbucks::softmax", v.dims(), as_const_view(mask).dims());
    if (!(s == v.dims())) throw shape_error("starbucks::softmax", "mask " + to_string(as_const_view(mask).dims()) + " does not broadcast to " + to_string(v.dims()));
    return detail::softmax_impl(add(x, mask), false);
}

/// dx += softmax'(y) dy (log = false) or log-softmax'(y) dy (log = true); contiguous operands.
template <class T, class E, class B>
void softmax_backward(tensor_view<const T, E, B> y, tensor_view<const T, E, B> dy, tensor_view<T, E, B> dx, bool log) {
    const auto [rows, cols] = detail::rows_cols(y.dims());
    B::softmax_backward(B::default_context(), rows, cols, y.data(), dy.data(), dx.data(), log);
}

STARBUCKS_NAMESPACE_END
