// SPDX-License-Identifier: Apache-2.0
// Normalisation: layer norm (with saved statistics), L2 normalisation, cosine similarity matrix.
#pragma once

#include "gemm.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// The output of layer_norm_stats: y, and per-row mean and 1/std for the backward pass.
template <class T, class E, class ER, class B>
struct layer_norm_result {
    tensor<T, E, B> y;
    tensor<T, ER, B> mean, rstd;
};

/// @brief Layer normalisation over the last axis with affine gamma, beta (both of extent C).
/// @throws shape_error when gamma or beta do not match the last extent.
template <tensor_like X, tensor_like G, tensor_like Bt> requires real<value_type_t<X>>
auto layer_norm_stats(const X& x, const G& gamma, const Bt& beta, value_type_t<X> eps) {
    using T = value_type_t<X>;
    using B = backend_t<X>;
    using EX = extents_t<X>;
    static_assert(EX::rank() >= 1 && extents_t<G>::rank() == 1 && extents_t<Bt>::rank() == 1,
                  "starbucks::layer_norm: x needs rank >= 1, gamma and beta rank 1");
    static_assert(extents_agree(EX::static_extent(EX::rank() - 1), extents_t<G>::static_extent(0)) &&
                      extents_agree(EX::static_extent(EX::rank() - 1), extents_t<Bt>::static_extent(0)),
                  "starbucks::layer_norm: static width of gamma or beta differs from the last extent of x");
    auto v = as_const_view(x);
    auto vg = as_const_view(gamma);
    auto vb = as_const_view(beta);
    const auto [rows, cols] = detail::rows_cols(v.dims());
    if (vg.extent(0) != cols || vb.extent(0) != cols)
        throw shape_error("starbucks::layer_norm", "gamma " + to_string(vg.dims()) + " and beta " + to_string(vb.dims()) +
                                                       " must match the last extent of " + to_string(v.dims()));
    using ER = drop_extent_t<EX, EX::rank() - 1>;
    shape rs = v.dims();
    --rs.rank;
    layer_norm_result<T, EX, ER, B> r{tensor<T, EX, B>(v.extents(), uninitialized), tensor<T, ER, B>(ER(rs), uninitialized),
                                      tensor<T, ER, B>(ER(rs), uninitialized)};
    contiguous_input in(v);
    contiguous_input ig(vg);
    contiguous_input ib(vb);
    B::layer_norm(B::default_context(), rows, cols, in.data(), ig.data(), ib.data(), eps, r.y.data(), r.mean.data(),
                  r.rstd.data());
    return r;
}

/// Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta.
template <tensor_like X, tensor_like G, tensor_like Bt> requires real<value_type_t<X>>
auto layer_norm(const X& x, const G& gamma, const Bt& beta, value_type_t<X> eps) {
    return std::move(layer_norm_stats(x, gamma, beta, eps).y);
}

/// Accumulates the layer-norm gradients into dx, dgamma, dbeta (each may have no data to skip it).
template <class T, class EX, class ER, class EG, class B>
void layer_norm_backward(tensor_view<const T, EX, B> x, tensor_view<const T, EG, B> gamma, tensor_view<const T, ER, B> mean,
                         tensor_view<const T, ER, B> rstd, tensor_view<const T, EX, B> dy, T* dx, T* dgamma, T* dbeta) {
    const auto [rows, cols] = detail::rows_cols(x.dims());
    B::layer_norm_backward(B::default_context(), rows, cols, x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(),
                           dx, dgamma, dbeta);
}

/// Rows of x divided by max(||row||, eps), as torch.nn.functional.normalize (eps 1e-12).
template <tensor_like X> requires real<value_type_t<X>>
auto l2_normalize(const X& x, value_type_t<X> eps = value_type_t<X>(1e-12)) {
    using T = value_type_t<X>;
    using B = backend_t<X>;
    static_assert(extents_t<X>::rank() >= 1, "starbucks::l2_normalize: needs rank >= 1");
    auto v = as_const_view(x);
    contiguous_input in(v);
    tensor<T, extents_t<X>, B> y(v.extents(), uninitialized);
    const auto [rows, cols] = detail::rows_cols(v.dims());
    B::l2_normalize(B::default_context(), rows, cols, in.data(), eps, y.data());
    return y;
}

/// dx += d(l2_normalize)/dx applied to dy, for y = l2_normalize(x, eps); contiguous operands.
template <class T, class E, class B>
void l2_normalize_backward(tensor_view<const T, E, B> x, tensor_view<const T, E, B> y, T eps, tensor_view<const T, E, B> dy,
                           tensor_view<T, E, B> dx) {
    const auto [rows, cols] = detail::rows_cols(x.dims());
    B::l2_normalize_backward(B::default_context(), rows, cols, x.data(), y.data(), eps, dy.data(), dx.data());
}

/// @brief The cosine similarity of every row of a (N, C) with every row of b (M, C): (N, M).
template <tensor_like A, tensor_like Bm> requires real<value_type_t<A>>
auto cosine_similarity(const A& a, const Bm& b) {
    static_assert(extents_t<A>::rank() == 2 && extents_t<Bm>::rank() == 2, "starbucks::cosine_similarity: operands need rank 2");
    static_assert(extents_agree(extents_t<A>::static_extent(1), extents_t<Bm>::static_extent(1)),
                  "starbucks::cosine_similarity: static widths differ");
    if (as_const_view(a).extent(1) != as_const_view(b).extent(1))
        throw shape_error("starbucks::cosine_similarity", "widths differ: lhs " + to_string(as_const_view(a).dims()) +
                                                              " vs rhs " + to_string(as_const_view(b).dims()));
    return matmul_nt(l2_normalize(a), l2_normalize(b));
}

STARBUCKS_NAMESPACE_END
