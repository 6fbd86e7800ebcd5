// SPDX-License-Identifier: Apache-2.0
// optim::clip_grad_norm: scales every gradient so their global L2 norm is at most max_norm, as
// torch.nn.utils.clip_grad_norm_ does; also how a trainer finds a NaN/inf gradient.
#pragma once

#include <cmath>
#include <memory>
#include <vector>

#include "../autograd/gradient_arena.hpp"
#include "../autograd/var_state.hpp"
#include "../config.hpp"
#include "../ops/elementwise.hpp"
#include "../ops/reduce.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace optim {

/// @brief The global L2 norm of the gradients of `params` (those that have one), summed in double.
/// NaN or inf when any gradient element is.
template <class T, class B>
double grad_norm(const std::vector<std::shared_ptr<autograd::var_state<T, B>>>& params) {
    double squares = 0;
    for (const auto& p : params) {
        if (!p->has_grad()) continue;
        squares += B::squared_norm(B::default_context(), p->lay().size(), p->grad_data());
    }
    return std::sqrt(squares);
}

/// @brief Multiplies every gradient by max_norm / (norm + 1e-6) when the norm exceeds max_norm
/// (torch's formula). Returns the norm before clipping; a non-finite norm leaves them as they are.
template <class T, class B>
double clip_grad_norm(const std::vector<std::shared_ptr<autograd::var_state<T, B>>>& params, double max_norm) {
    const double norm = grad_norm(params);
    if (!std::isfinite(norm) || max_norm <= 0 || norm <= max_norm) return norm;
    const T factor = static_cast<T>(max_norm / (norm + 1e-6));
    for (const auto& p : params) {
        if (!p->has_grad()) continue;
        T* g = p->grad_data();
        B::unary(B::default_context(), backend::unary_op::scale, p->lay().size(), g, g, factor);
    }
    return norm;
}

/// @brief grad_norm over the gradients an arena holds: one reduction per run of consecutive
/// gradients rather than one per parameter (the same value up to the order of the double sum).
template <class T, class B>
double grad_norm(autograd::gradient_arena<T, B>& arena) {
    return std::sqrt(arena.squared_norm());
}

/// @brief clip_grad_norm over the gradients an arena holds (see grad_norm above).
template <class T, class B>
double clip_grad_norm(autograd::gradient_arena<T, B>& arena, double max_norm) {
    const double norm = grad_norm(arena);
    if (!std::isfinite(norm) || max_norm <= 0 || norm <= max_norm) return norm;
    arena.scale(static_cast<T>(max_norm / (norm + 1e-6)));
    return norm;
}

} // namespace optim
STARBUCKS_NAMESPACE_END
