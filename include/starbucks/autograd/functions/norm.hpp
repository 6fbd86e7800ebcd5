// SPDX-License-Identifier: Apache-2.0
// Differentiable layer norm, L2 normalisation and cosine similarity matrix.
#pragma once

#include "../../ops/norm.hpp"
#include "gemm.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// Layer normalisation over the last axis; gradients for x, gamma and beta.
template <class T, class E, class EG, class EB, class B>
auto layer_norm(const var<T, E, B>& x, const var<T, EG, B>& gamma, const var<T, EB, B>& beta, T eps) {
    auto r = starbucks::layer_norm_stats(x.value(), gamma.value(), beta.value(), eps);
    using ER = typename decltype(r.mean)::extents_type;
    auto stats = std::make_shared<std::pair<tensor<T, ER, B>, tensor<T, ER, B>>>(std::move(r.mean), std::move(r.rstd));
    return detail::make_result("layer_norm", detail::recording_for(x, gamma, beta), std::move(r.y),
                               [sx = x.state(), sg = gamma.state(), sb = beta.state(), ex = x.extents(), eg = gamma.extents(),
                                eb = beta.extents(), stats](var_state<T, B>& out) {
        contiguous_input xin(sx->view(ex));
        contiguous_input gin(sg->view(eg));
        T* dx = sx->requires_grad ? sx->grad(ex).data() : nullptr;
        T* dg = sg->requires_grad ? sg->grad(eg).data() : nullptr;
        T* db = sb->requires_grad ? sb->grad(eb).data() : nullptr;
        layer_norm_backward(tensor_view<const T, E, B>(xin.data(), ex), tensor_view<const T, EG, B>(gin.data(), eg),
                            as_const_view(stats->first), as_const_view(stats->second),
                            tensor_view<const T, E, B>(out.grad(ex)), dx, dg, db);
    });
}

/// Rows divided by max(||row||, eps).
template <class T, class E, class B>
auto l2_normalize(const var<T, E, B>& x, T eps = T(1e-12)) {
    auto y = starbucks::l2_normalize(x.value(), eps);
    return detail::make_result("l2_normalize", detail::recording_for(x), std::move(y), [sx = x.state(), e = x.extents(), eps](var_state<T, B>& out) {
        if (!sx->requires_grad) return;
        contiguous_input xin(sx->view(e));
        l2_normalize_backward(tensor_view<const T, E, B>(xin.data(), e), tensor_view<const T, E, B>(out.data(), e), eps,
                              tensor_view<const T, E, B>(out.grad(e)), sx->grad(e));
    });
}

/// Cosine similarity of every row of a (N, C) with every row of b (M, C): (N, M).
template <class T, class EA, class EB, class B>
auto cosine_similarity(const var<T, EA, B>& a, const var<T, EB, B>& b) {
    static_assert(EA::rank() == 2 && EB::rank() == 2, "starbucks::cosine_similarity: operands need rank 2");
    static_assert(extents_agree(EA::static_extent(1), EB::static_extent(1)), "starbucks::cosine_similarity: static widths differ");
    if (a.extent(1) != b.extent(1))
        throw shape_error("starbucks::cosine_similarity", "widths differ: lhs " + to_string(a.dims()) + " vs rhs " + to_string(b.dims()));
    return matmul_nt(l2_normalize(a), l2_normalize(b));
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
