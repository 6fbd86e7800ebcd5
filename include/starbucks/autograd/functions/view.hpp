// SPDX-License-Identifier: Apache-2.0
// Differentiable views: prefix, slice, select, transpose, reshape. No copies forward; backward
// scatter-adds the view's gradient into the matching region of its parent's gradient.
#pragma once

#include "../../tensor/slice.hpp"
#include "../var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

namespace detail {
/// Applies `view_fn` to the parent's values for the result, and again to the parent's gradient
/// in backward, so the region that receives the gradient is exactly the region viewed.
template <class T, class E, class B, class F>
auto make_view(const char* op, const var<T, E, B>& x, F view_fn) {
    auto v = view_fn(x.value());
    using V = decltype(v);
    using EO = typename V::extents_type;
    auto parent = x.state();
    const std::ptrdiff_t offset = parent->offset() + (v.data() - x.value().data());
    // Like every op's result, a view needs a gradient only when its rule is recorded: under
    // no_grad or outside a tape it is a constant, even when its parent is a parameter.
    tape* t = recording_for(x);
    auto state = std::make_shared<var_state<T, B>>(parent->storage(), offset, v.lay(), t != nullptr);
    if (t) {
        t->record(op, state, [view_fn, parent, weak = std::weak_ptr<var_state<T, B>>(state), ep = x.extents(),
                              eo = v.extents()]() mutable {
            auto out = weak.lock();
            if (!out || !out->has_grad() || !parent->requires_grad) return;
            auto region = view_fn(parent->grad(ep));
            accumulate(region, tensor_view<const T, EO, B>(out->grad(eo)));
        });
    }
    return var<T, EO, B>(std::move(state), v.extents());
}
} // namespace detail

/// The first K entries along Axis (default: last), as a differentiable view.
template <std::size_t K, std::size_t Axis = last_axis, class T, class E, class B>
auto prefix(const var<T, E, B>& x) {
    return detail::make_view("prefix", x, [](auto v) { return starbucks::prefix<K, Axis>(v); });
}
/// The first k entries along axis (default: last), as a differentiable view.
template <class T, class E, class B>
auto prefix(const var<T, E, B>& x, std::size_t k, std::size_t axis = last_axis) {
    return detail::make_view("prefix", x, [k, axis](auto v) { return starbucks::prefix(v, k, axis); });
}
template <std::size_t K, class T, class E, class B>
auto prefix(const var<T, E, B>& x, constant<K>) {
    return prefix<K>(x);
}
/// Entries [begin, end) along axis.
template <class T, class E, class B>
auto slice(const var<T, E, B>& x, std::size_t axis, std::size_t begin, std::size_t end) {
    return detail::make_view("slice", x, [=](auto v) { return starbucks::slice(v, axis, begin, end); });
}
/// Entry `index` along Axis, dropping it (`select<1>(h, 0)`: the CLS vectors).
template <std::size_t Axis, class T, class E, class B>
auto select(const var<T, E, B>& x, std::size_t index) {
    return detail::make_view("select", x, [index](auto v) { return starbucks::select<Axis>(v, index); });
}
/// Axes A and B swapped.
template <std::size_t A, std::size_t Bx, class T, class E, class B>
auto transpose(const var<T, E, B>& x) {
    return detail::make_view("transpose", x, [](auto v) { return starbucks::transpose<A, Bx>(v); });
}
/// The same elements under new extents; the value must be contiguous.
template <extents_type NE, class T, class E, class B>
auto reshape(const var<T, E, B>& x, const NE& e) {
    return detail::make_view("reshape", x, [e](auto v) { return starbucks::reshape(v, e); });
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
