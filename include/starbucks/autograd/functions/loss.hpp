// SPDX-License-Identifier: Apache-2.0
// Differentiable losses: cross-entropy with ignore-index, KL divergence (batchmean).
#pragma once

#include <memory>

#include "../../ops/copy.hpp"
#include "../../ops/loss.hpp"
#include "../var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// Mean cross-entropy of logits (N, V) against int64 labels (N), skipping `ignore_index`.
template <class T, class E, class B, tensor_like L>
auto cross_entropy(const var<T, E, B>& logits, const L& labels, std::int64_t ignore_index = ignore_index_default) {
    auto y = starbucks::cross_entropy(logits.value(), labels, ignore_index);
    auto kept = std::make_shared<tensor<std::int64_t, extents_t<L>, B>>(contiguous(labels));
    return detail::make_result("cross_entropy", detail::recording_for(logits), std::move(y),
                               [sx = logits.state(), e = logits.extents(), kept, ignore_index](var_state<T, B>& out) {
        if (!sx->requires_grad) return;
        contiguous_input xin(sx->view(e));
        cross_entropy_backward(tensor_view<const T, E, B>(xin.data(), e), as_const_view(*kept), ignore_index,
                               tensor_view<const T, extents<>, B>(out.grad(extents<>{})), sx->grad(e));
    });
}

/// @brief KL(p || q) over the last axis, averaged over rows, from log q and log p. Both get
/// gradients unless they need none: detach the teacher by passing a var without requires_grad.
template <class T, class EQ, class EP, class B>
auto kl_div(const var<T, EQ, B>& log_q, const var<T, EP, B>& log_p) {
    auto y = starbucks::kl_div(log_q.value(), log_p.value());
    return detail::make_result("kl_div", detail::recording_for(log_q, log_p), std::move(y),
                               [sq = log_q.state(), sp = log_p.state(), eq = log_q.extents(), ep = log_p.extents()](var_state<T, B>& out) {
        contiguous_input qin(sq->view(eq));
        contiguous_input pin(sp->view(ep));
        T* dq = sq->requires_grad ? sq->grad(eq).data() : nullptr;
        T* dp = sp->requires_grad ? sp->grad(ep).data() : nullptr;
        kl_div_backward(tensor_view<const T, EQ, B>(qin.data(), eq), tensor_view<const T, EQ, B>(pin.data(), eq),
                        tensor_view<const T, extents<>, B>(out.grad(extents<>{})), dq, dp);
    });
}

/// A var holding the same values with no gradient (e.g. a detached teacher).
template <class T, class E, class B>
auto detach(const var<T, E, B>& x) {
    return var<T, E, B>(contiguous(x.value()), false);
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
