// SPDX-License-Identifier: Apache-2.0
// nn pooling: one vector per sequence from hidden states, by masked mean or the CLS token.
#pragma once

#include "../autograd/autograd.hpp"
#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// @brief Mean of h (B, T, C) over the real tokens of `mask` (B, T, 1 = token, 0 = padding) -> (B, C).
/// @throws shape_error when the shapes disagree.
template <class T, class E, class B, tensor_like M>
auto mean_pooling(const autograd::var<T, E, B>& h, const M& mask) {
    return autograd::masked_mean(h, mask);
}

/// @brief The first token's vector ([CLS]) of h (B, T, C) -> (B, C), as a view.
template <class T, class E, class B>
auto cls_pooling(const autograd::var<T, E, B>& h) {
    return autograd::select<1>(h, 0);
}

} // namespace nn
STARBUCKS_NAMESPACE_END
