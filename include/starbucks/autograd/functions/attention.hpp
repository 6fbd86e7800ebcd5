// SPDX-License-Identifier: Apache-2.0
// Differentiable fused multi-head attention: only the (B, T, C) output is kept (and, on a
// backend's fused kernel, the B·H·T row log-sum-exps); the backward recomputes scores,
// probabilities and the dropout mask tile by tile.
#pragma once

#include <optional>

#include "../../ops/attention.hpp"
#include "../var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

namespace detail {
template <class T, class B, class EM>
auto attention_node(const var<T, dextents<3>, B>& q, const var<T, dextents<3>, B>& k, const var<T, dextents<3>, B>& v,
                    const var<T, EM, B>* mask, const attention_options<T>& o) {
    if (mask && mask->requires_grad())
        throw usage_error("starbucks::autograd::attention", "the additive mask is a constant; it cannot require a gradient");
    std::optional<tensor_view<const T, EM, B>> vm;
    if (mask) vm.emplace(mask->value());
    auto r = starbucks::detail::attention_impl(q.value(), k.value(), v.value(), vm ? &*vm : nullptr, o);
    using MS = std::shared_ptr<var_state<T, B>>;
    MS sm = mask ? mask->state() : MS{};
    const EM em = mask ? mask->extents() : EM{};
    // A fused forward leaves its row log-sum-exps for the fused backward (B·H·T values).
    auto lse = r.fused ? std::make_shared<tensor<T, dextents<1>, B>>(std::move(r.lse)) : nullptr;
    return make_result("attention", recording_for(q, k, v), std::move(r.out),
                       [sq = q.state(), sk = k.state(), sv = v.state(), e = q.extents(), sm, em, o, lse](var_state<T, B>& out) {
        if (!sq->requires_grad && !sk->requires_grad && !sv->requires_grad) return;
        auto dy = tensor_view<const T, dextents<3>, B>(out.grad(e));
        const contiguous_input cq(sq->view(e)), ck(sk->view(e)), cv(sv->view(e)), cy(dy);
        std::optional<contiguous_input<T, EM, B>> cm;
        if (sm) cm.emplace(sm->view(em));
        auto grad_of = [&e](const auto& s) { return s->requires_grad ? s->grad(e).data() : nullptr; };
        const T* mp = cm ? cm->data() : nullptr;
        if constexpr (backend::has_fused_attention<B, T>) {
            if (lse) {
                const auto f = starbucks::detail::fused_attention_for<T, B>(e.extent(0), e.extent(1), e.extent(2), cq.data(), ck.data(),
                                                                            cv.data(), mp, o, true);
                B::attention_backward(B::default_context(), *f, out.data(), lse->data(), cy.data(), grad_of(sq), grad_of(sk), grad_of(sv));
                return;
            }
        }
        starbucks::detail::attention_kernel<T, B>(e.extent(0), e.extent(1), e.extent(2), cq.data(), ck.data(), cv.data(), mp, o)
            .backward(cy.data(), grad_of(sq), grad_of(sk), grad_of(sv));
    });
}
} // namespace detail

/// @brief Fused multi-head self-attention of (B, T, C) q, k, v (see starbucks::attention),
/// differentiable in q, k and v. `mask` is an additive (B, T) or (B, 1, 1, T) constant.
/// Memory: the result only, plus B·H·T log-sum-exps on a backend's fused kernel. The backward
/// recomputes the scores, probabilities and dropout mask (a pure function of o.rng) instead of
/// keeping four (B, H, T, T) tensors.
/// @throws shape_error when the shapes disagree; usage_error when the mask requires a gradient.
template <class T, class B, class EM>
auto attention(const var<T, dextents<3>, B>& q, const var<T, dextents<3>, B>& k, const var<T, dextents<3>, B>& v,
               const var<T, EM, B>& mask, const attention_options<T>& o) {
    return detail::attention_node(q, k, v, &mask, o);
}

/// The same without a mask.
template <class T, class B>
auto attention(const var<T, dextents<3>, B>& q, const var<T, dextents<3>, B>& k, const var<T, dextents<3>, B>& v,
               const attention_options<T>& o) {
    return detail::attention_node(q, k, v, static_cast<const var<T, dextents<2>, B>*>(nullptr), o);
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
