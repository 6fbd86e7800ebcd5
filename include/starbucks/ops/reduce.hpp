// SPDX-License-Identifier: Apache-2.0
// Reductions: sum and mean (of everything or along an axis), log-sum-exp along the last axis.
#pragma once

#include "detail/operand.hpp"

STARBUCKS_NAMESPACE_BEGIN

namespace detail {
template <class T, class EO, class EX, class B>
void sum_into(tensor<T, EO, B>& out, tensor_view<const T, EX, B> x, T alpha, std::size_t axis_or_all) {
    layout dst;
    dst.dims = x.dims();
    for (std::size_t i = 0, j = 0; i < EX::rank(); ++i) {
        if (axis_or_all == dyn || i == axis_or_all) dst.strides[i] = 0; // summed
        else dst.strides[i] = layout::contiguous(out.dims()).strides[j++];
    }
    B::fill(B::default_context(), out.size(), T(0), out.data());
    B::accumulate(B::default_context(), backend::strided<T>{out.data(), dst}, backend::strided<const T>{x.data(), x.lay()},
                  alpha);
}
} // namespace detail

/// The sum of every element, as a rank-0 tensor.
template <tensor_like X> requires real<value_type_t<X>>
auto sum(const X& x) {
    using T = value_type_t<X>;
    tensor<T, extents<>, backend_t<X>> out;
    detail::sum_into(out, as_const_view(x), T(1), dyn);
    return out;
}

/// The mean of every element; an empty tensor is a shape_error.
template <tensor_like X> requires real<value_type_t<X>>
auto mean(const X& x) {
    using T = value_type_t<X>;
    auto v = as_const_view(x);
    detail::check_not_empty("starbucks::mean", v.dims());
    tensor<T, extents<>, backend_t<X>> out;
    detail::sum_into(out, v, T(1) / T(v.size()), dyn);
    return out;
}

/// Sum along `Axis`, dropping it.
template <std::size_t Axis, tensor_like X> requires real<value_type_t<X>>
auto sum(const X& x) {
    using T = value_type_t<X>;
    static_assert(Axis < extents_t<X>::rank(), "starbucks::sum: axis out of range");
    using E = drop_extent_t<extents_t<X>, Axis>;
    auto v = as_const_view(x);
    shape s;
    for (std::size_t i = 0; i < v.rank(); ++i)
        if (i != Axis) s.dims[s.rank++] = v.extent(i);
    tensor<T, E, backend_t<X>> out(E(s), uninitialized);
    detail::sum_into(out, v, T(1), Axis);
    return out;
}

/// Mean along `Axis`, dropping it; an empty axis is a shape_error.
template <std::size_t Axis, tensor_like X> requires real<value_type_t<X>>
auto mean(const X& x) {
    using T = value_type_t<X>;
    auto v = as_const_view(x);
    if (v.extent(Axis) == 0) throw shape_error("starbucks::mean", "axis " + std::to_string(Axis) + " of " + to_string(v.dims()) + " is empty");
    auto out = sum<Axis>(x);
    auto& ctx = backend_t<X>::default_context();
    backend_t<X>::unary(ctx, backend::unary_op::scale, out.size(), out.data(), out.data(), T(1) / T(v.extent(Axis)));
    return out;
}

/// log(sum(exp(x))) along the last axis, max-shifted; an all -inf row gives -inf.
template <tensor_like X> requires real<value_type_t<X>>
auto logsumexp(const X& x) {
    using T = value_type_t<X>;
    using B = backend_t<X>;
    using EX = extents_t<X>;
    static_assert(EX::rank() >= 1, "starbucks::logsumexp: needs rank >= 1");
    auto v = as_const_view(x);
    detail::check_not_empty("starbucks::logsumexp", v.dims());
    using E = drop_extent_t<EX, EX::rank() - 1>;
    shape s = v.dims();
    --s.rank;
    tensor<T, E, B> out(E(s), uninitialized);
    contiguous_input in(v);
    const auto [rows, cols] = detail::rows_cols(v.dims());
    B::logsumexp(B::default_context(), rows, cols, in.data(), out.data());
    return out;
}

/// dx += dy[row] * exp(x - y[row]) for y = logsumexp(x).
template <class T, class EX, class EY, class B>
void logsumexp_backward(tensor_view<const T, EX, B> x, tensor_view<const T, EY, B> y, tensor_view<const T, EY, B> dy,
                        tensor_view<T, EX, B> dx) {
    const auto [rows, cols] = detail::rows_cols(x.dims());
    B::logsumexp_backward(B::default_context(), rows, cols, x.data(), y.data(), dy.data(), dx.data());
}

STARBUCKS_NAMESPACE_END
