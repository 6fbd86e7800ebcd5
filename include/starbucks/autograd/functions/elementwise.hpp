// SPDX-License-Identifier: Apache-2.0
// Differentiable element-wise ops: GELU, tanh, exp, log, ..., and broadcast add/sub/mul/div.
#pragma once

#include "../../ops/elementwise.hpp"
#include "../var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

namespace detail {
template <class T, class E, class B>
auto unary(const char* name, backend::unary_op op, const var<T, E, B>& x, T param) {
    auto y = starbucks::map(op, x.value(), param);
    return make_result(name, recording_for(x), std::move(y), [sx = x.state(), e = x.extents(), op, param](var_state<T, B>& out) {
        if (!sx->requires_grad) return;
        contiguous_input xin(sx->view(e));
        map_backward<T, E, B>(op, tensor_view<const T, E, B>(xin.data(), e), tensor_view<const T, E, B>(out.data(), e),
                              tensor_view<const T, E, B>(out.grad(e)), sx->grad(e), param);
    });
}
} // namespace detail

template <class T, class E, class B>
auto gelu(const var<T, E, B>& x) { return detail::unary("gelu", backend::unary_op::gelu, x, T(1)); }
template <class T, class E, class B>
auto tanh(const var<T, E, B>& x) { return detail::unary("tanh", backend::unary_op::tanh, x, T(1)); }
template <class T, class E, class B>
auto exp(const var<T, E, B>& x) { return detail::unary("exp", backend::unary_op::exp, x, T(1)); }
template <class T, class E, class B>
auto log(const var<T, E, B>& x) { return detail::unary("log", backend::unary_op::log, x, T(1)); }
template <class T, class E, class B>
auto neg(const var<T, E, B>& x) { return detail::unary("neg", backend::unary_op::neg, x, T(1)); }
template <class T, class E, class B>
auto square(const var<T, E, B>& x) { return detail::unary("square", backend::unary_op::square, x, T(1)); }
template <class T, class E, class B>
auto sqrt(const var<T, E, B>& x) { return detail::unary("sqrt", backend::unary_op::sqrt, x, T(1)); }
/// s * x.
template <class T, class E, class B>
auto scale(const var<T, E, B>& x, T s) { return detail::unary("scale", backend::unary_op::scale, x, s); }

namespace detail {
template <class T, class EA, class EB, class B, class Forward>
auto binary(const char* name, backend::binary_op op, const var<T, EA, B>& a, const var<T, EB, B>& b, Forward forward) {
    auto y = forward(a.value(), b.value());
    using EY = typename decltype(y)::extents_type;
    return make_result(name, recording_for(a, b), std::move(y),
                       [sa = a.state(), sb = b.state(), ea = a.extents(), eb = b.extents(), op](var_state<T, B>& out) {
        const EY ey(out.dims());
        auto dy = tensor_view<const T, EY, B>(out.grad(ey));
        auto va = sa->view(ea);
        auto vb = sb->view(eb);
        using backend::binary_op;
        switch (op) {
        case binary_op::add:
        case binary_op::sub:
            if (sa->requires_grad) accumulate_reduced(sa->grad(ea), dy);
            if (sb->requires_grad) accumulate_reduced(sb->grad(eb), dy, op == binary_op::add ? T(1) : T(-1));
            break;
        case binary_op::mul:
            if (sa->requires_grad) binary_accumulate(binary_op::mul, sa->grad(ea), dy, vb);
            if (sb->requires_grad) binary_accumulate(binary_op::mul, sb->grad(eb), dy, va);
            break;
        case binary_op::div:
            if (sa->requires_grad) binary_accumulate(binary_op::div, sa->grad(ea), dy, vb);
            if (sb->requires_grad) { // d(a/b)/db = -y / b
                auto minus_dy_y = starbucks::neg(starbucks::mul(dy, tensor_view<const T, EY, B>(out.data(), ey)));
                binary_accumulate(binary_op::div, sb->grad(eb), as_const_view(minus_dy_y), vb);
            }
            break;
        }
    });
}
} // namespace detail

/// a + b with broadcasting; the gradient of a broadcast operand is summed over the broadcast axes.
template <class T, class EA, class EB, class B>
auto add(const var<T, EA, B>& a, const var<T, EB, B>& b) {
    return detail::binary("add", backend::binary_op::add, a, b, [](auto x, auto y) { return starbucks::add(x, y); });
}
template <class T, class EA, class EB, class B>
auto sub(const var<T, EA, B>& a, const var<T, EB, B>& b) {
    return detail::binary("sub", backend::binary_op::sub, a, b, [](auto x, auto y) { return starbucks::sub(x, y); });
}
template <class T, class EA, class EB, class B>
auto mul(const var<T, EA, B>& a, const var<T, EB, B>& b) {
    return detail::binary("mul", backend::binary_op::mul, a, b, [](auto x, auto y) { return starbucks::mul(x, y); });
}
template <class T, class EA, class EB, class B>
auto div(const var<T, EA, B>& a, const var<T, EB, B>& b) {
    return detail::binary("div", backend::binary_op::div, a, b, [](auto x, auto y) { return starbucks::div(x, y); });
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
