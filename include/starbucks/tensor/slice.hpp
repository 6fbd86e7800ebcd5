// SPDX-License-Identifier: Apache-2.0
// Zero-copy views: prefix<K> / prefix(k) along an axis, slice, select, transpose, reshape.
#pragma once

#include <string>

#include "tensor.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// Names the last axis where an axis argument is expected.
inline constexpr std::size_t last_axis = dyn;

namespace detail {
template <class V, class NewExtents>
using rebind_view_t = tensor_view<typename V::element_type, NewExtents, typename V::backend_type>;

constexpr std::size_t resolve_axis(std::size_t axis, std::size_t rank) { return axis == last_axis ? rank - 1 : axis; }

inline void check_axis(const char* op, std::size_t axis, std::size_t rank, const shape& s) {
    if (axis >= rank)
        throw shape_error(op, "axis " + std::to_string(axis) + " is out of range for " + to_string(s));
}

/// Views only of things that outlive them: lvalue tensors, or views.
template <class X>
concept viewable = tensor_like<X> && (std::is_lvalue_reference_v<X> || is_tensor_view_v<std::remove_cvref_t<X>>);

[[noreturn]] inline void throw_prefix_range(std::size_t k, std::size_t axis, const shape& s) {
    throw shape_error("starbucks::prefix", "width " + std::to_string(k) + " is outside the allowed range 1.." +
                                               std::to_string(s.dims[axis]) + " of axis " + std::to_string(axis) + " of " +
                                               to_string(s));
}

template <class V, class NewExtents>
auto with_extent(const V& v, std::size_t axis, std::size_t value, std::ptrdiff_t offset) {
    shape s = v.dims();
    s.dims[axis] = value;
    return rebind_view_t<V, NewExtents>(v.data() + offset, NewExtents(s), v.strides());
}
} // namespace detail

/// @brief The first K entries along `Axis` (default: the last axis), as a view.
/// A static K larger than a static extent does not compile.
/// @throws shape_error naming the allowed range when K exceeds a dynamic extent.
template <std::size_t K, std::size_t Axis = last_axis, class X>
    requires detail::viewable<X&&>
auto prefix(X&& x) {
    auto v = as_view(x);
    using V = decltype(v);
    constexpr std::size_t axis = detail::resolve_axis(Axis, V::rank());
    static_assert(axis < V::rank(), "starbucks::prefix: axis out of range");
    static_assert(K >= 1, "starbucks::prefix: a prefix needs at least one entry");
    constexpr std::size_t width = V::extents_type::static_extent(axis);
    static_assert(width == dyn || K <= width, "starbucks::prefix: static width exceeds the static extent");
    if (K > v.extent(axis)) detail::throw_prefix_range(K, axis, v.dims());
    return detail::with_extent<V, replace_extent_t<typename V::extents_type, axis, K>>(v, axis, K, 0);
}

/// @brief The first k entries along `axis` (default: last), as a view with that axis dynamic.
/// @throws shape_error naming the allowed range 1..extent when k is 0 or too large.
template <class X>
    requires detail::viewable<X&&>
auto prefix(X&& x, std::size_t k, std::size_t axis = last_axis) {
    auto v = as_view(x);
    using V = decltype(v);
    axis = detail::resolve_axis(axis, V::rank());
    detail::check_axis("starbucks::prefix", axis, V::rank(), v.dims());
    if (k < 1 || k > v.extent(axis)) detail::throw_prefix_range(k, axis, v.dims());
    return detail::with_extent<V, all_dynamic_t<typename V::extents_type>>(v, axis, k, 0);
}

/// The static form through a value: `prefix(x, constant<32>{})`.
template <std::size_t K, class X>
    requires detail::viewable<X&&>
auto prefix(X&& x, constant<K>) {
    return prefix<K>(std::forward<X>(x));
}

/// @brief Entries [begin, end) along `axis`, as a view.
/// @throws shape_error when the range is empty or out of bounds.
template <class X>
    requires detail::viewable<X&&>
auto slice(X&& x, std::size_t axis, std::size_t begin, std::size_t end) {
    auto v = as_view(x);
    using V = decltype(v);
    detail::check_axis("starbucks::slice", axis, V::rank(), v.dims());
    if (begin >= end || end > v.extent(axis))
        throw shape_error("starbucks::slice", "range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                                  ") is empty or outside [0, " + std::to_string(v.extent(axis)) +
                                                  ") on axis " + std::to_string(axis) + " of " + to_string(v.dims()));
    return detail::with_extent<V, all_dynamic_t<typename V::extents_type>>(
        v, axis, end - begin, static_cast<std::ptrdiff_t>(begin) * v.stride(axis));
}

/// @brief Entry `index` along axis `Axis`, dropping that axis: `select<1>(h, 0)` is the CLS row.
template <std::size_t Axis, class X>
    requires detail::viewable<X&&>
auto select(X&& x, std::size_t index) {
    auto v = as_view(x);
    using V = decltype(v);
    static_assert(Axis < V::rank(), "starbucks::select: axis out of range");
    if (index >= v.extent(Axis))
        throw shape_error("starbucks::select", "index " + std::to_string(index) + " is outside [0, " +
                                                   std::to_string(v.extent(Axis)) + ") on axis " + std::to_string(Axis) +
                                                   " of " + to_string(v.dims()));
    using E = drop_extent_t<typename V::extents_type, Axis>;
    shape s;
    std::array<std::ptrdiff_t, E::rank()> st{};
    for (std::size_t i = 0, j = 0; i < V::rank(); ++i) {
        if (i == Axis) continue;
        s.dims[j] = v.extent(i);
        st[j++] = v.stride(i);
    }
    s.rank = E::rank();
    return detail::rebind_view_t<V, E>(v.data() + static_cast<std::ptrdiff_t>(index) * v.stride(Axis), E(s), st);
}

/// @brief Axes A and B swapped, as a (generally non-contiguous) view.
template <std::size_t A, std::size_t B, class X>
    requires detail::viewable<X&&>
auto transpose(X&& x) {
    auto v = as_view(x);
    using V = decltype(v);
    static_assert(A < V::rank() && B < V::rank(), "starbucks::transpose: axis out of range");
    using E0 = typename V::extents_type;
    using E = replace_extent_t<replace_extent_t<E0, A, E0::static_extent(B)>, B, E0::static_extent(A)>;
    shape s = v.dims();
    std::swap(s.dims[A], s.dims[B]);
    auto st = v.strides();
    std::swap(st[A], st[B]);
    return detail::rebind_view_t<V, E>(v.data(), E(s), st);
}

/// @brief The same contiguous elements under new extents of equal size.
/// @throws shape_error when the view is not contiguous or the sizes differ.
template <extents_type NewExtents, class X>
    requires detail::viewable<X&&>
auto reshape(X&& x, const NewExtents& e) {
    auto v = as_view(x);
    using V = decltype(v);
    if (!v.is_contiguous())
        throw shape_error("starbucks::reshape", "view " + to_string(v.lay()) + " is not contiguous");
    if (e.size() != v.size())
        throw shape_error("starbucks::reshape", "size of " + to_string(e) + " differs from size of " +
                                                    to_string(v.dims()));
    return detail::rebind_view_t<V, NewExtents>(v.data(), e);
}

STARBUCKS_NAMESPACE_END
