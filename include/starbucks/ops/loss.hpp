// SPDX-License-Identifier: Apache-2.0
// Loss kernels: cross-entropy with ignore-index, KL divergence (batchmean) between log-distributions.
#pragma once

#include <cstdint>

#include "detail/operand.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// The label that cross_entropy skips (torch's default).
inline constexpr std::int64_t ignore_index_default = -100;

/// @brief Mean cross-entropy of logits (N, V) against int64 labels (N); rows labelled
/// `ignore_index` are skipped. No label smoothing. NaN when every row is ignored (as torch).
/// @throws shape_error for a label outside [0, V) or mismatched N.
template <tensor_like X, tensor_like L>
    requires real<value_type_t<X>> && std::is_same_v<value_type_t<L>, std::int64_t>
auto cross_entropy(const X& logits, const L& labels, std::int64_t ignore_index = ignore_index_default) {
    using T = value_type_t<X>;
    using B = backend_t<X>;
    static_assert(extents_t<X>::rank() == 2 && extents_t<L>::rank() == 1, "starbucks::cross_entropy: logits need (N, V), labels (N)");
    static_assert(extents_agree(extents_t<X>::static_extent(0), extents_t<L>::static_extent(0)),
                  "starbucks::cross_entropy: static row counts differ");
    auto vx = as_const_view(logits);
    auto vl = as_const_view(labels);
    if (vx.extent(0) != vl.extent(0))
        throw shape_error("starbucks::cross_entropy", "logits " + to_string(vx.dims()) + " vs labels " + to_string(vl.dims()));
    tensor<T, extents<>, B> out;
    contiguous_input ix(vx);
    contiguous_input il(vl);
    B::cross_entropy(B::default_context(), vx.extent(0), vx.extent(1), ix.data(), il.data(), ignore_index, out.data());
    return out;
}

/// dlogits += dloss * (softmax - onehot) / count.
template <class T, class EX, class EL, class B>
void cross_entropy_backward(tensor_view<const T, EX, B> logits, tensor_view<const std::int64_t, EL, B> labels,
                            std::int64_t ignore_index, tensor_view<const T, extents<>, B> dloss, tensor_view<T, EX, B> dlogits) {
    contiguous_input il(labels);
    B::cross_entropy_backward(B::default_context(), logits.extent(0), logits.extent(1), logits.data(), il.data(), ignore_index,
                              dloss.data(), dlogits.data());
}

/// @brief KL(p || q) summed over the last axis and averaged over the rows ("batchmean"), given
/// log q and log p of the same shape: torch's kl_div(log_q, log_p, "batchmean", log_target=True).
template <tensor_like Q, tensor_like P>
    requires real<value_type_t<Q>> && std::is_same_v<value_type_t<Q>, value_type_t<P>>
auto kl_div(const Q& log_q, const P& log_p) {
    using T = value_type_t<Q>;
    using B = backend_t<Q>;
    static_assert(all_extents_agree<extents_t<Q>, extents_t<P>>(), "starbucks::kl_div: static extents differ");
    auto vq = as_const_view(log_q);
    auto vp = as_const_view(log_p);
    detail::check_same_shape("starbucks::kl_div", vq.dims(), vp.dims());
    detail::check_not_empty("starbucks::kl_div", vq.dims());
    const auto [rows, cols] = detail::rows_cols(vq.dims());
    tensor<T, extents<>, B> out;
    contiguous_input iq(vq);
    contiguous_input ip(vp);
    B::kl_div(B::default_context(), rows, cols, iq.data(), ip.data(), out.data());
    return out;
}

/// dlog_q and dlog_p (either may be null) += the KL gradients scaled by dout.
template <class T, class E, class B>
void kl_div_backward(tensor_view<const T, E, B> log_q, tensor_view<const T, E, B> log_p, tensor_view<const T, extents<>, B> dout,
                     T* dlog_q, T* dlog_p) {
    const auto [rows, cols] = detail::rows_cols(log_q.dims());
    B::kl_div_backward(B::default_context(), rows, cols, log_q.data(), log_p.data(), dout.data(), dlog_q, dlog_p);
}

STARBUCKS_NAMESPACE_END
