// SPDX-License-Identifier: Apache-2.0
// Copies: contiguous(x), concat along an axis, dtype conversion, fills.
#pragma once

#include "../tensor/slice.hpp"
#include "detail/operand.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// A contiguous copy of any tensor or view.
template <tensor_like X>
auto contiguous(const X& x) {
    auto v = as_const_view(x);
    tensor<value_type_t<X>, extents_t<X>, backend_t<X>> out(v.extents(), uninitialized);
    out.copy_from(v);
    return out;
}

/// @brief a and b joined along `Axis`; all other extents must agree.
/// @throws shape_error naming both shapes otherwise.
template <std::size_t Axis, tensor_like A, tensor_like B>
    requires std::is_same_v<value_type_t<A>, value_type_t<B>> && std::is_same_v<backend_t<A>, backend_t<B>>
auto concat(const A& a, const B& b) {
    using EA = extents_t<A>;
    using EB = extents_t<B>;
    static_assert(EA::rank() == EB::rank(), "starbucks::concat: ranks differ");
    static_assert(Axis < EA::rank(), "starbucks::concat: axis out of range");
    using T = value_type_t<A>;
    using Be = backend_t<A>;
    using E0 = merge_extents_t<EA, EB>;
    constexpr std::size_t sa = EA::static_extent(Axis), sb = EB::static_extent(Axis);
    using E = replace_extent_t<E0, Axis, (sa == dyn || sb == dyn ? dyn : sa + sb)>;
    static_assert([] {
        for (std::size_t i = 0; i < EA::rank(); ++i)
            if (i != Axis && !extents_agree(EA::static_extent(i), EB::static_extent(i))) return false;
        return true;
    }(), "starbucks::concat: static extents off the concatenation axis differ");
    auto va = as_const_view(a);
    auto vb = as_const_view(b);
    shape s = va.dims();
    for (std::size_t i = 0; i < EA::rank(); ++i)
        if (i != Axis && va.extent(i) != vb.extent(i))
            throw shape_error("starbucks::concat", "extents off axis " + std::to_string(Axis) + " differ: " +
                                                       to_string(va.dims()) + " vs " + to_string(vb.dims()));
    s.dims[Axis] = va.extent(Axis) + vb.extent(Axis);
    tensor<T, E, Be> out(E(s), uninitialized);
    auto& ctx = Be::default_context();
    if (va.size() > 0) {
        auto dst = slice(out, Axis, 0, va.extent(Axis));
        Be::copy(ctx, backend::strided<T>{dst.data(), dst.lay()}, backend::strided<const T>{va.data(), va.lay()});
    }
    if (vb.size() > 0) {
        auto dst = slice(out, Axis, va.extent(Axis), s.dims[Axis]);
        Be::copy(ctx, backend::strided<T>{dst.data(), dst.lay()}, backend::strided<const T>{vb.data(), vb.lay()});
    }
    return out;
}

/// @brief dst = src, element by element, for two views of the same shape (any strides; dst
/// must not alias itself). @throws shape_error naming both shapes otherwise.
template <class T, class E1, class E2, class B>
void assign(tensor_view<T, E1, B> dst, tensor_view<const T, E2, B> src) {
    detail::check_same_shape("starbucks::assign", dst.dims(), src.dims());
    if (src.size() == 0) return;
    B::copy(B::default_context(), backend::strided<T>{dst.data(), dst.lay()}, backend::strided<const T>{src.data(), src.lay()});
}

/// x converted element-wise to U (float to bf16 rounds to nearest even).
template <element U, tensor_like X>
auto convert(const X& x) {
    using B = backend_t<X>;
    contiguous_input in(as_const_view(x));
    tensor<U, extents_t<X>, B> out(as_const_view(x).extents(), uninitialized);
    B::convert(B::default_context(), out.size(), in.data(), out.data());
    return out;
}

/// Sets every element of a contiguous tensor to `value`.
template <class T, class E, class B>
void fill(tensor<T, E, B>& x, T value) {
    B::fill(B::default_context(), x.size(), value, x.data());
}

/// dst += alpha * src, where dst and src have the same shape (any strides).
template <class T, class E1, class E2, class B>
void accumulate(tensor_view<T, E1, B> dst, tensor_view<const T, E2, B> src, T alpha = T(1)) {
    detail::check_same_shape("starbucks::accumulate", dst.dims(), src.dims());
    B::accumulate(B::default_context(), backend::strided<T>{dst.data(), dst.lay()},
                  backend::strided<const T>{src.data(), src.lay()}, alpha);
}

/// dst += alpha * (src summed down to dst's shape): broadcast axes of dst (missing, or extent 1
/// where src is wider) are reduced. The backward of every broadcasting op.
template <class T, class E1, class E2, class B>
void accumulate_reduced(tensor_view<T, E1, B> dst, tensor_view<const T, E2, B> src, T alpha = T(1)) {
    const layout l = detail::broadcast_to("starbucks::accumulate_reduced", dst.lay(), src.dims(), src.dims());
    B::accumulate(B::default_context(), backend::strided<T>{dst.data(), l},
                  backend::strided<const T>{src.data(), src.lay()}, alpha);
}

/// dst += alpha * src broadcast to dst's shape (src may be a scalar, or miss leading axes).
template <class T, class E1, class E2, class B>
void accumulate_broadcast(tensor_view<T, E1, B> dst, tensor_view<const T, E2, B> src, T alpha = T(1)) {
    const layout l = detail::broadcast_to("starbucks::accumulate_broadcast", src.lay(), dst.dims(), dst.dims());
    B::accumulate(B::default_context(), backend::strided<T>{dst.data(), dst.lay()}, backend::strided<const T>{src.data(), l},
                  alpha);
}

STARBUCKS_NAMESPACE_END
