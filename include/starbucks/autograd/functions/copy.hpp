// SPDX-License-Identifier: Apache-2.0
// Differentiable copies: concatenation along an axis, contiguous copies of views.
#pragma once

#include "../../ops/copy.hpp"
#include "../var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// a and b joined along Axis; each gets its slice of the gradient back.
template <std::size_t Axis, class T, class EA, class EB, class B>
auto concat(const var<T, EA, B>& a, const var<T, EB, B>& b) {
    auto y = starbucks::concat<Axis>(a.value(), b.value());
    using EY = typename decltype(y)::extents_type;
    return detail::make_result("concat", detail::recording_for(a, b), std::move(y),
                               [sa = a.state(), sb = b.state(), ea = a.extents(), eb = b.extents()](var_state<T, B>& out) {
        auto dy = tensor_view<const T, EY, B>(out.grad(EY(out.dims())));
        const std::size_t na = ea.extent(Axis);
        if (sa->requires_grad && na > 0) accumulate(sa->grad(ea), starbucks::slice(dy, Axis, 0, na));
        if (sb->requires_grad && eb.extent(Axis) > 0) accumulate(sb->grad(eb), starbucks::slice(dy, Axis, na, dy.extent(Axis)));
    });
}

/// A contiguous copy of x (e.g. a transposed view before a reshape); the gradient passes through.
template <class T, class E, class B>
auto contiguous(const var<T, E, B>& x) {
    auto y = starbucks::contiguous(x.value());
    return detail::make_result("contiguous", detail::recording_for(x), std::move(y), [sx = x.state(), e = x.extents()](var_state<T, B>& out) {
        if (!sx->requires_grad) return;
        accumulate(sx->grad(e), tensor_view<const T, E, B>(out.grad(e)));
    });
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
