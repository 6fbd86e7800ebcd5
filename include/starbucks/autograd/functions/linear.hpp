// SPDX-License-Identifier: Apache-2.0
// Differentiable fused dense layers: act(x·Wᵀ + b) and x·Wᵀ + b + residual.
#pragma once

#include "../../ops/linear.hpp"
#include "elementwise.hpp"
#include "gemm.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

namespace detail {
/// Records y = x·Wᵀ + b (+ r), already computed: dx = dy·W, dW = dyᵀ·x (one product over the
/// stacked rows), db = dy summed over the rows, dr = dy. `r` is the residual, when there is one.
template <class T, class EX, class EW, class EB, class B, class Y, class... Residual>
auto record_linear(const char* name, Y&& y, const var<T, EX, B>& x, const var<T, EW, B>& w, const var<T, EB, B>& b,
                   const Residual&... r) {
    using EY = typename std::remove_cvref_t<Y>::extents_type;
    auto residual_state = [&] {
        if constexpr (sizeof...(Residual) == 1) return std::pair{r.state()..., r.extents()...};
        else return 0;
    }();
    return make_result(name, recording_for(x, w, b, r...), std::forward<Y>(y),
                       [sx = x.state(), sw = w.state(), sb = b.state(), ex = x.extents(), ew = w.extents(), eb = b.extents(),
                        residual_state](var_state<T, B>& out) {
        const EY ey(out.dims());
        auto dy = tensor_view<const T, EY, B>(out.grad(ey));
        if (sx->requires_grad) matmul_grad<false, false>(sx->grad(ex), dy, sw->view(ew), T(1), true);
        if (sw->requires_grad) matmul_grad<true, false>(sw->grad(ew), dy, sx->view(ex), T(1));
        if (sb->requires_grad) accumulate_reduced(sb->grad(eb), dy);
        if constexpr (sizeof...(Residual) == 1) {
            const auto& [sr, er] = residual_state;
            if (sr->requires_grad) accumulate_reduced(sr->grad(er), dy);
        } else {
            (void)residual_state; // a placeholder when there is no residual
        }
    });
}
} // namespace detail

/// @brief act(x·Wᵀ + b) with a Hugging Face [out, in] weight, differentiable in x, W and b.
///
/// Not recorded (inference, or nothing needs a gradient), the whole epilogue is fused into the
/// GEMM. Recorded, only the bias is: GELU's derivative needs its input, which a fused
/// activation would not keep, so the activation is then an op of its own.
template <class T, class EX, class EW, class EB, class B>
auto linear(const var<T, EX, B>& x, const var<T, EW, B>& w, const var<T, EB, B>& b,
            backend::gemm_activation act = backend::gemm_activation::none) {
    const bool recorded = tape::recording() && (x.requires_grad() || w.requires_grad() || b.requires_grad());
    if (!recorded || act == backend::gemm_activation::none)
        return detail::record_linear("linear", starbucks::linear(x.value(), w.value(), b.value(), act), x, w, b);
    return gelu(detail::record_linear("linear", starbucks::linear(x.value(), w.value(), b.value()), x, w, b));
}

/// @brief x·Wᵀ + b + residual (a skip connection), one GEMM whether recorded or not: the
/// residual's derivative is the identity, so nothing is lost by fusing it.
template <class T, class EX, class EW, class EB, class ER, class B>
auto linear_residual(const var<T, EX, B>& x, const var<T, EW, B>& w, const var<T, EB, B>& b, const var<T, ER, B>& residual) {
    return detail::record_linear("linear", starbucks::linear_residual(x.value(), w.value(), b.value(), residual.value()), x, w, b,
                                 residual);
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
