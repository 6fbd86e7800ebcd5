// SPDX-License-Identifier: Apache-2.0
// Differentiable embedding lookup (scatter-add backward) and masked mean pooling.
#pragma once

#include <memory>

#include "../../ops/gather.hpp"
#include "../var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// Rows of `table` picked by int64 `ids` (a plain tensor: ids need no gradient).
template <class T, class ET, class B, tensor_like I>
auto embedding(const var<T, ET, B>& table, const I& ids) {
    auto y = starbucks::embedding(table.value(), ids);
    auto kept = std::make_shared<tensor<std::int64_t, extents_t<I>, B>>(contiguous(ids));
    using EY = typename decltype(y)::extents_type;
    return detail::make_result("embedding", detail::recording_for(table), std::move(y),
                               [st = table.state(), et = table.extents(), kept](var_state<T, B>& out) {
        if (!st->requires_grad) return;
        embedding_backward(as_const_view(*kept), tensor_view<const T, EY, B>(out.grad(EY(out.dims()))), st->grad(et));
    });
}

/// Mean of x (B, T, C) over tokens where `mask` (B, T), a plain tensor of 0/1, is 1.
template <class T, class EX, class B, tensor_like M>
auto masked_mean(const var<T, EX, B>& x, const M& mask) {
    auto y = starbucks::masked_mean(x.value(), mask);
    auto kept = std::make_shared<tensor<T, extents_t<M>, B>>(contiguous(mask));
    using EY = typename decltype(y)::extents_type;
    return detail::make_result("masked_mean", detail::recording_for(x), std::move(y),
                               [sx = x.state(), ex = x.extents(), kept](var_state<T, B>& out) {
        if (!sx->requires_grad) return;
        masked_mean_backward(as_const_view(*kept), tensor_view<const T, EY, B>(out.grad(EY(out.dims()))), sx->grad(ex));
    });
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
