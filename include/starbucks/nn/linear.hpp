// SPDX-License-Identifier: Apache-2.0
// nn::linear: y = x·Wᵀ + b with a Hugging Face [out, in] weight.
#pragma once

#include <string>

#include "module.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// @brief A dense layer over the last axis.
/// @tparam T float or double. @tparam B the backend of the parameters and activations.
template <real T, backend::backend_policy B = backend::reference>
struct linear {
    matrix_var<T, B> weight; ///< [out, in]
    vector_var<T, B> bias;   ///< [out]

    linear() = default;
    /// Weight ~ Normal(0, 0.02) from `rng`, zero bias (as BertPreTrainedModel initialises).
    linear(std::size_t in, std::size_t out, rng_stream rng)
        : weight(detail::normal_parameter<T, B>(dextents<2>(out, in), rng)),
          bias(detail::constant_parameter<T, B>(dextents<1>(out), T(0))) {}

    std::size_t in_features() const noexcept { return weight.extent(1); }
    std::size_t out_features() const noexcept { return weight.extent(0); }

    /// @brief x (..., in) -> act(x·Wᵀ + b) (..., out), one GEMM with the bias (and, when nothing
    /// is recorded, the activation) fused. @throws shape_error when x's last extent is not `in`.
    template <class E>
    auto operator()(const autograd::var<T, E, B>& x, backend::gemm_activation act = backend::gemm_activation::none) const {
        return autograd::linear(x, weight, bias, act);
    }

    /// @brief x·Wᵀ + b + residual, one GEMM (a skip connection that no dropout separates).
    /// @throws shape_error when x's last extent is not `in` or the residual is not the output's shape.
    template <class E, class ER>
    auto with_residual(const autograd::var<T, E, B>& x, const autograd::var<T, ER, B>& residual) const {
        return autograd::linear_residual(x, weight, bias, residual);
    }

    /// Appends `<prefix>weight` and `<prefix>bias`.
    void append_parameters(parameter_list<T, B>& out, const std::string& prefix) const {
        out.emplace_back(prefix + "weight", weight);
        out.emplace_back(prefix + "bias", bias);
    }
};

} // namespace nn
STARBUCKS_NAMESPACE_END
