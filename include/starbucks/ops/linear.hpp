// SPDX-License-Identifier: Apache-2.0
// Fused dense layers: act(x·Wᵀ + b) and x·Wᵀ + b + residual, each one GEMM with its epilogue.
#pragma once

#include "elementwise.hpp"
#include "gemm.hpp"

STARBUCKS_NAMESPACE_BEGIN

namespace detail {
/// The shared body of linear and linear_residual: checks bias (and residual) against the
/// product's shape, then runs one GEMM whose epilogue adds them and activates.
/// `residual`, when given, is a contiguous tensor of shape `residual_dims`.
template <class X, class W, class V>
auto linear_product(const char* op, const X& x, const W& w, const V& bias, backend::gemm_activation act,
                    const value_type_t<X>* residual = nullptr, const shape& residual_dims = {}) {
    using EX = extents_t<X>;
    using EW = extents_t<W>;
    static_assert(EX::rank() >= 2 && EW::rank() == 2, "starbucks::linear: x needs rank >= 2, the weight rank 2");
    static_assert(extents_t<V>::rank() == 1, "starbucks::linear: the bias has rank 1");
    using P = matmul_extents<EX, EW, false, true>;
    static_assert(extents_agree(P::k_a, P::k_b), "starbucks::linear: static inner extents differ");
    static_assert(extents_agree(EW::static_extent(0), extents_t<V>::static_extent(0)), "starbucks::linear: bias and weight disagree");
    using T = value_type_t<X>;
    using Be = backend_t<X>;
    using E = typename P::type;
    auto vx = as_const_view(x);
    auto vw = as_const_view(w);
    auto vb = as_const_view(bias);
    const shape out_shape = matmul_shape<false, true>(vx.dims(), vw.dims(), op);
    if (vb.extent(0) != vw.extent(0))
        throw shape_error(op, "bias " + to_string(vb.dims()) + " vs weight " + to_string(vw.dims()));
    const contiguous_input bias_in(vb);
    backend::gemm_epilogue<T> tail;
    tail.bias = bias_in.data();
    tail.activation = act;
    if (residual && !(residual_dims == out_shape))
        throw shape_error(op, "residual " + to_string(residual_dims) + " vs product " + to_string(out_shape));
    tail.residual = residual;
    tensor<T, E, Be> y(E(out_shape), uninitialized);
    auto vy = y.view();
    gemm_dispatch<T, Be>(vx, vw, vy, false, true, T(1), T(0), tail, true);
    return y;
}
} // namespace detail

/// @brief act(x·Wᵀ + bias): a dense layer over the last axis of x (..., in) with a Hugging
/// Face [out, in] weight, as one GEMM whose epilogue adds the bias and applies the activation
/// (fused into the product on cpu_onednn; one pass per row of the result elsewhere).
/// @throws shape_error naming the shapes when x, the weight and the bias disagree.
template <tensor_like X, tensor_like W, tensor_like V>
    requires real<value_type_t<X>> && detail::same_kind<X, W> && detail::same_kind<X, V>
auto linear(const X& x, const W& w, const V& bias, backend::gemm_activation act = backend::gemm_activation::none) {
    return detail::linear_product("starbucks::linear", x, w, bias, act);
}

/// @brief x·Wᵀ + bias + residual, the residual shaped as the result (a skip connection), as
/// one GEMM. @throws shape_error when the residual's shape is not the product's.
template <tensor_like X, tensor_like W, tensor_like V, tensor_like R>
    requires real<value_type_t<X>> && detail::same_kind<X, W> && detail::same_kind<X, V> && detail::same_kind<X, R>
auto linear_residual(const X& x, const W& w, const V& bias, const R& residual) {
    auto vr = as_const_view(residual);
    const contiguous_input residual_in(vr);
    return detail::linear_product("starbucks::linear_residual", x, w, bias, backend::gemm_activation::none, residual_in.data(),
                                  vr.dims());
}

STARBUCKS_NAMESPACE_END
