// SPDX-License-Identifier: Apache-2.0
// The optional fused-attention primitive: a backend that has one computes multi-head attention
// in one pass over key tiles (no (T, T) scores in memory) and its backward from the kept
// log-sum-exp. ops/attention.hpp uses it where present, and composes GEMMs and softmax elsewhere.
#pragma once

#include <cstddef>

#include "../core/rng.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend {

/// @brief One multi-head self-attention: q, k, v (and out, dout, dq, dk, dv) are (batch, tokens,
/// heads · head_size) row-major; `mask` is an additive (batch, tokens) key mask or null.
/// Dropout on the probabilities draws word ((b·H + h)·T + i)·T + j of `rng` for probability
/// (i, j) of head h of sample b, as backend dropout over the (B, H, T, T) probabilities does.
template <class T>
struct fused_attention_args {
    std::size_t batch = 0, tokens = 0, heads = 0, head_size = 0;
    const T *q = nullptr, *k = nullptr, *v = nullptr, *mask = nullptr;
    T scale = 1, dropout_p = 0;
    rng_stream rng{};
};

/// @brief True when backend B has a fused attention for element type T:
/// - `B::fused_attention_supports(args)`: whether these sizes run fused (head sizes, limits);
/// - `B::attention_forward(ctx, args, out, lse)`: out and the (B·H·T) row log-sum-exps;
/// - `B::attention_backward(ctx, args, out, lse, dout, dq, dk, dv)`: dq, dk, dv += their
///   gradients (a null one is skipped), from the forward's out and lse.
template <class B, class T>
concept has_fused_attention = requires(typename B::context& c, const fused_attention_args<T>& a, const T* cp, T* p) {
    { B::fused_attention_supports(a) } -> std::convertible_to<bool>;
    B::attention_forward(c, a, p, p);
    B::attention_backward(c, a, cp, cp, cp, p, p, p);
};

} // namespace backend
STARBUCKS_NAMESPACE_END
