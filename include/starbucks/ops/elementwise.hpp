// SPDX-License-Identifier: Apache-2.0
// Element-wise ops: GELU, tanh, exp, log, scale...; broadcast add, sub, mul, div (bias add too).
#pragma once

#include "detail/operand.hpp"

STARBUCKS_NAMESPACE_BEGIN

namespace detail {
template <tensor_like X>
auto map_unary(backend::unary_op op, const X& x, value_type_t<X> param) {
    using T = value_type_t<X>;
    using B = backend_t<X>;
    auto v = as_const_view(x);
    contiguous_input in(v);
    tensor<T, extents_t<X>, B> y(v.extents(), uninitialized);
    B::unary(B::default_context(), op, y.size(), in.data(), y.data(), param);
    return y;
}

template <tensor_like A, tensor_like Bx>
auto map_binary(const char* name, backend::binary_op op, const A& a, const Bx& b) {
    using T = value_type_t<A>;
    using Be = backend_t<A>;
    using E = broadcast_extents_t<extents_t<A>, extents_t<Bx>>;
    auto va = as_const_view(a);
    auto vb = as_const_view(b);
    const shape s = broadcast_shape(name, va.dims(), vb.dims());
    tensor<T, E, Be> out(E(s), uninitialized);
    Be::binary(Be::default_context(), op, backend::strided<T>{out.data(), layout::contiguous(s)},
               backend::strided<const T>{va.data(), broadcast_to(name, va.lay(), s, vb.dims())},
               backend::strided<const T>{vb.data(), broadcast_to(name, vb.lay(), s, va.dims())});
    return out;
}

template <class A, class B>
concept same_kind = real<value_type_t<A>> && std::is_same_v<value_type_t<A>, value_type_t<B>> &&
                    std::is_same_v<backend_t<A>, backend_t<B>>;
} // namespace detail

/// GELU in BERT's exact erf form: x * Phi(x).
template <tensor_like X> requires real<value_type_t<X>>
auto gelu(const X& x) { return detail::map_unary(backend::unary_op::gelu, x, 1); }
template <tensor_like X> requires real<value_type_t<X>>
auto tanh(const X& x) { return detail::map_unary(backend::unary_op::tanh, x, 1); }
template <tensor_like X> requires real<value_type_t<X>>
auto exp(const X& x) { return detail::map_unary(backend::unary_op::exp, x, 1); }
template <tensor_like X> requires real<value_type_t<X>>
auto log(const X& x) { return detail::map_unary(backend::unary_op::log, x, 1); }
template <tensor_like X> requires real<value_type_t<X>>
auto neg(const X& x) { return detail::map_unary(backend::unary_op::neg, x, 1); }
template <tensor_like X> requires real<value_type_t<X>>
auto square(const X& x) { return detail::map_unary(backend::unary_op::square, x, 1); }
template <tensor_like X> requires real<value_type_t<X>>
auto sqrt(const X& x) { return detail::map_unary(backend::unary_op::sqrt, x, 1); }
/// s * x.
template <tensor_like X> requires real<value_type_t<X>>
auto scale(const X& x, value_type_t<X> s) { return detail::map_unary(backend::unary_op::scale, x, s); }
/// Apply any backend unary op (the autograd uses this to share one code path).
template <tensor_like X> requires real<value_type_t<X>>
auto map(backend::unary_op op, const X& x, value_type_t<X> param = 1) { return detail::map_unary(op, x, param); }

/// dx += dy * f'(x) for the unary op that produced y = f(x); all contiguous, same shape.
template <class T, class E, class B>
void map_backward(backend::unary_op op, tensor_view<const T, E, B> x, tensor_view<const T, E, B> y,
                  tensor_view<const T, E, B> dy, tensor_view<T, E, B> dx, T param = 1) {
    B::unary_backward(B::default_context(), op, x.size(), x.data(), y.data(), dy.data(), dx.data(), param);
}

/// a + b with NumPy broadcasting (a bias of extent C adds along the last axis).
/// Static extents that cannot broadcast do not compile; dynamic ones throw shape_error.
template <tensor_like A, tensor_like B> requires detail::same_kind<A, B>
auto add(const A& a, const B& b) {
    static_assert(extents_broadcastable<extents_t<A>, extents_t<B>>(), "starbucks::add: static extents do not broadcast");
    return detail::map_binary("starbucks::add", backend::binary_op::add, a, b);
}
template <tensor_like A, tensor_like B> requires detail::same_kind<A, B>
auto sub(const A& a, const B& b) {
    static_assert(extents_broadcastable<extents_t<A>, extents_t<B>>(), "starbucks::sub: static extents do not broadcast");
    return detail::map_binary("starbucks::sub", backend::binary_op::sub, a, b);
}
template <tensor_like A, tensor_like B> requires detail::same_kind<A, B>
auto mul(const A& a, const B& b) {
    static_assert(extents_broadcastable<extents_t<A>, extents_t<B>>(), "starbucks::mul: static extents do not broadcast");
    return detail::map_binary("starbucks::mul", backend::binary_op::mul, a, b);
}
template <tensor_like A, tensor_like B> requires detail::same_kind<A, B>
auto div(const A& a, const B& b) {
    static_assert(extents_broadcastable<extents_t<A>, extents_t<B>>(), "starbucks::div: static extents do not broadcast");
    return detail::map_binary("starbucks::div", backend::binary_op::div, a, b);
}

/// out += a (op) b where out may be narrower than a and b: its broadcast axes are summed. The
/// backward of broadcasting products: d(bias) = sum of dy, d(a) of a*b = reduce(dy * b).
template <class T, class EO, class EA, class EB, class B>
void binary_accumulate(backend::binary_op op, tensor_view<T, EO, B> out, tensor_view<const T, EA, B> a,
                       tensor_view<const T, EB, B> b) {
    const char* name = "starbucks::binary_accumulate";
    const shape s = detail::broadcast_shape(name, a.dims(), b.dims());
    B::binary(B::default_context(), op, backend::strided<T>{out.data(), detail::broadcast_to(name, out.lay(), s, s)},
              backend::strided<const T>{a.data(), detail::broadcast_to(name, a.lay(), s, b.dims())},
              backend::strided<const T>{b.data(), detail::broadcast_to(name, b.lay(), s, a.dims())}, true);
}

STARBUCKS_NAMESPACE_END
