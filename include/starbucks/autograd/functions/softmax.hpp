// SPDX-License-Identifier: Apache-2.0
// Differentiable softmax and log-softmax over the last axis, with an optional additive mask.
#pragma once

#include "../../ops/softmax.hpp"
#include "elementwise.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

namespace detail {
template <class T, class E, class B>
auto softmax_node(const char* name, const var<T, E, B>& x, bool log) {
    auto y = log ? starbucks::log_softmax(x.value()) : starbucks::softmax(x.value());
    return make_result(name, recording_for(x), std::move(y), [sx = x.state(), e = x.extents(), log](var_state<T, B>& out) {
        if (!sx->requires_grad) return;
        softmax_backward(tensor_view<const T, E, B>(out.data(), e), tensor_view<const T, E, B>(out.grad(e)), sx->grad(e), log);
    });
}
} // namespace detail

template <class T, class E, class B>
auto softmax(const var<T, E, B>& x) { return detail::softmax_node("softmax", x, false); }
template <class T, class E, class B>
auto log_softmax(const var<T, E, B>& x) { return detail::softmax_node("log_softmax", x, true); }

/// softmax(x + mask) with an additive mask broadcast to x; the mask may need no gradient.
template <class T, class E, class EM, class B>
auto softmax(const var<T, E, B>& x, const var<T, EM, B>& mask) {
    const shape s = starbucks::detail::broadcast_shape("starbucks::softmax", x.dims(), mask.dims());
    if (!(s == x.dims()))
        throw shape_error("starbucks::softmax", "mask " + to_string(mask.dims()) + " does not broadcast to " + to_string(x.dims()));
    return softmax(add(x, mask));
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
