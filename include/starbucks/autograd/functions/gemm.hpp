// SPDX-License-Identifier: Apache-2.0
// Differentiable matmul<TransA, TransB>, including a rank-2 operand shared across a batch.
#pragma once

#include "../../ops/gemm.hpp"
#include "../var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

namespace detail {
/// grad += op_x(p) op_y(q) where grad may be a broadcast (rank-2) operand of a batched product:
/// then the batched product is formed and summed over the batch.
/// `q_is_weight`: q is a layer's weight (the input gradient of a linear layer).
template <bool TX, bool TY, class T, class EG, class EP, class EQ, class B>
void matmul_grad(tensor_view<T, EG, B> grad, tensor_view<const T, EP, B> p, tensor_view<const T, EQ, B> q, T alpha,
                 bool q_is_weight = false) {
    if constexpr (TX && !TY && EG::rank() == 2 && EP::rank() >= 3 && EQ::rank() >= 3) {
        // A weight shared across the batch (a Linear layer): Σ_b p_bᵀ q_b is one product over
        // the stacked rows, never the batched product followed by a reduction.
        if (p.is_contiguous() && q.is_contiguous() && p.extent(0) > 0) {
            const std::size_t cols_p = p.extent(EP::rank() - 1), cols_q = q.extent(EQ::rank() - 1);
            const std::size_t rows = p.size() / cols_p;
            if (rows * cols_q == q.size()) {
                const tensor_view<const T, dextents<2>, B> p2(p.data(), dextents<2>(rows, cols_p));
                const tensor_view<const T, dextents<2>, B> q2(q.data(), dextents<2>(rows, cols_q));
                matmul_into<true, false>(grad, p2, q2, alpha, T(1));
                return;
            }
        }
    }
    const shape s = starbucks::detail::matmul_shape<TX, TY>(p.dims(), q.dims());
    if (s == grad.dims()) {
        matmul_into<TX, TY>(grad, p, q, alpha, T(1), q_is_weight);
    } else {
        auto full = starbucks::matmul<TX, TY>(p, q);
        accumulate_reduced(grad, as_const_view(full), alpha);
    }
}
} // namespace detail

/// @brief alpha · op(a) x op(b), differentiable in both operands; see starbucks::matmul for shapes.
template <bool TA = false, bool TB = false, class T, class EA, class EB, class B>
auto matmul(const var<T, EA, B>& a, const var<T, EB, B>& b, std::type_identity_t<T> alpha = T(1)) {
    auto y = starbucks::matmul<TA, TB>(a.value(), b.value(), alpha);
    using EC = typename decltype(y)::extents_type;
    // Named apart so a profile tells the attention products (both operands batched) from the
    // products with a weight matrix.
    constexpr const char* name = EA::rank() > 2 && EB::rank() > 2 ? "batched_matmul" : "matmul";
    return detail::make_result(name, detail::recording_for(a, b), std::move(y),
                               [sa = a.state(), sb = b.state(), ea = a.extents(), eb = b.extents(), alpha](var_state<T, B>& out) {
        const EC ec(out.dims());
        auto dc = tensor_view<const T, EC, B>(out.grad(ec));
        auto va = sa->view(ea);
        auto vb = sb->view(eb);
        if (sa->requires_grad) {
            auto da = sa->grad(ea);
            if constexpr (!TA && !TB) detail::matmul_grad<false, true>(da, dc, vb, alpha);      // dA = dC Bᵀ
            else if constexpr (!TA && TB) detail::matmul_grad<false, false>(da, dc, vb, alpha); // dA = dC B
            else if constexpr (TA && !TB) detail::matmul_grad<false, true>(da, vb, dc, alpha);  // dA = B dCᵀ
            else detail::matmul_grad<true, true>(da, vb, dc, alpha);                            // dA = Bᵀ dCᵀ
        }
        if (sb->requires_grad) {
            auto db = sb->grad(eb);
            if constexpr (!TA && !TB) detail::matmul_grad<true, false>(db, va, dc, alpha);      // dB = Aᵀ dC
            else if constexpr (!TA && TB) detail::matmul_grad<true, false>(db, dc, va, alpha);  // dB = dCᵀ A
            else if constexpr (TA && !TB) detail::matmul_grad<false, false>(db, va, dc, alpha); // dB = A dC
            else detail::matmul_grad<true, true>(db, dc, va, alpha);                            // dB = dCᵀ Aᵀ
        }
    });
}

/// a x bᵀ (a Hugging Face [out, in] weight), differentiable.
template <class T, class EA, class EB, class B>
auto matmul_nt(const var<T, EA, B>& a, const var<T, EB, B>& b) {
    return matmul<false, true>(a, b);
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
