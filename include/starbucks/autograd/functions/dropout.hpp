// SPDX-License-Identifier: Apache-2.0
// Differentiable dropout; the mask is a pure function of (seed, stream, element index).
#pragma once

#include <memory>

#include "../../ops/dropout.hpp"
#include "../../ops/elementwise.hpp"
#include "../var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// Dropout with probability p; identity (no node) when p is 0.
template <class T, class E, class B>
auto dropout(const var<T, E, B>& x, T p, rng_stream rng) {
    if (p == T(0)) return x;
    auto r = starbucks::dropout(x.value(), p, rng);
    auto mask = std::make_shared<tensor<T, E, B>>(std::move(r.mask));
    return detail::make_result("dropout", detail::recording_for(x), std::move(r.y), [sx = x.state(), e = x.extents(), mask](var_state<T, B>& out) {
        if (!sx->requires_grad) return;
        binary_accumulate(backend::binary_op::mul, sx->grad(e), tensor_view<const T, E, B>(out.grad(e)), as_const_view(*mask));
    });
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
