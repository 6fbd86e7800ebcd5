// SPDX-License-Identifier: Apache-2.0
// nn::layer_norm: LayerNorm over the last axis with a learned gain and shift.
#pragma once

#include <string>

#include "module.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// @brief (x - mean) / sqrt(var + eps) * weight + bias over the last axis (HF `LayerNorm`).
template <real T, backend::backend_policy B = backend::reference>
struct layer_norm {
    vector_var<T, B> weight; ///< gamma, [C], initialised to 1
    vector_var<T, B> bias;   ///< beta, [C], initialised to 0
    T eps = T(1e-12);

    layer_norm() = default;
    layer_norm(std::size_t width, T eps_)
        : weight(detail::constant_parameter<T, B>(dextents<1>(width), T(1))),
          bias(detail::constant_parameter<T, B>(dextents<1>(width), T(0))), eps(eps_) {}

    template <class E>
    auto operator()(const autograd::var<T, E, B>& x) const {
        return autograd::layer_norm(x, weight, bias, eps);
    }

    void append_parameters(parameter_list<T, B>& out, const std::string& prefix) const {
        out.emplace_back(prefix + "weight", weight);
        out.emplace_back(prefix + "bias", bias);
    }
};

} // namespace nn
STARBUCKS_NAMESPACE_END
