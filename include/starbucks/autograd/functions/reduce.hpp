// SPDX-License-Identifier: Apache-2.0
// Differentiable reductions: sum, mean (all or along an axis), log-sum-exp over the last axis.
#pragma once

#include "../../ops/copy.hpp"
#include "../../ops/reduce.hpp"
#include "../var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

namespace detail {
/// dx += alpha * dy broadcast back over the reduced axis (or every axis when Axis is dyn).
template <std::size_t Axis, class T, class EX, class EY, class B>
void unreduce(tensor_view<T, EX, B> dx, tensor_view<const T, EY, B> dy, T alpha) {
    layout src;
    src.dims = dx.dims();
    const layout dl = dy.lay();
    for (std::size_t i = 0, j = 0; i < EX::rank(); ++i)
        src.strides[i] = (Axis == dyn || i == Axis) ? 0 : dl.strides[j++];
    B::accumulate(B::default_context(), backend::strided<T>{dx.data(), dx.lay()}, backend::strided<const T>{dy.data(), src}, alpha);
}

template <std::size_t Axis, class T, class E, class B, class Forward>
auto reduction(const char* name, const var<T, E, B>& x, bool is_mean, Forward forward) {
    auto y = forward(x.value());
    using EY = typename decltype(y)::extents_type;
    return make_result(name, recording_for(x), std::move(y), [sx = x.state(), e = x.extents(), is_mean](var_state<T, B>& out) {
        if (!sx->requires_grad) return;
        const std::size_t n = Axis == dyn ? e.size() : e.extent(Axis == dyn ? 0 : Axis);
        const T alpha = is_mean ? T(1) / T(n) : T(1);
        unreduce<Axis>(sx->grad(e), tensor_view<const T, EY, B>(out.grad(EY(out.dims()))), alpha);
    });
}
} // namespace detail

/// Sum of every element (rank 0).
template <class T, class E, class B>
auto sum(const var<T, E, B>& x) {
    return detail::reduction<dyn>("sum", x, false, [](auto v) { return starbucks::sum(v); });
}
/// Mean of every element (rank 0).
template <class T, class E, class B>
auto mean(const var<T, E, B>& x) {
    return detail::reduction<dyn>("mean", x, true, [](auto v) { return starbucks::mean(v); });
}
/// Sum along Axis, dropping it.
template <std::size_t Axis, class T, class E, class B>
auto sum(const var<T, E, B>& x) {
    return detail::reduction<Axis>("sum", x, false, [](auto v) { return starbucks::sum<Axis>(v); });
}
/// Mean along Axis, dropping it.
template <std::size_t Axis, class T, class E, class B>
auto mean(const var<T, E, B>& x) {
    return detail::reduction<Axis>("mean", x, true, [](auto v) { return starbucks::mean<Axis>(v); });
}

/// log(sum(exp(x))) over the last axis.
template <class T, class E, class B>
auto logsumexp(const var<T, E, B>& x) {
    auto y = starbucks::logsumexp(x.value());
    using EY = typename decltype(y)::extents_type;
    return detail::make_result("logsumexp", detail::recording_for(x), std::move(y), [sx = x.state(), e = x.extents()](var_state<T, B>& out) {
        if (!sx->requires_grad) return;
        const EY ey(out.dims());
        contiguous_input xin(sx->view(e));
        logsumexp_backward(tensor_view<const T, E, B>(xin.data(), e), tensor_view<const T, EY, B>(out.data(), ey),
                           tensor_view<const T, EY, B>(out.grad(ey)), sx->grad(e));
    });
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
