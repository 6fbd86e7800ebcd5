// SPDX-License-Identifier: Apache-2.0
// nn::bert_ffn: the position-wise feed-forward block of a BERT layer (BertIntermediate +
// BertOutput): dense, GELU (erf), dense, dropout, residual, LayerNorm.
#pragma once

#include <cstdint>
#include <string>

#include "bert_config.hpp"
#include "layer_norm.hpp"
#include "linear.hpp"
#include "module.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// @brief LayerNorm(x + dropout(W2·gelu(W1·x + b1) + b2)).
template <real T, backend::backend_policy B = backend::reference>
struct bert_ffn {
    linear<T, B> intermediate; ///< intermediate.dense, [I, C]
    linear<T, B> output;       ///< output.dense, [C, I]
    nn::layer_norm<T, B> LayerNorm; // NOLINT(readability-identifier-naming): output.LayerNorm
    double dropout_p = 0.1;

    bert_ffn() = default;
    /// Streams 0..1 of `seed` initialise the two dense layers.
    bert_ffn(const bert_config& c, std::uint64_t seed)
        : intermediate(c.hidden_size, c.intermediate_size, rng_stream{seed, 0}),
          output(c.intermediate_size, c.hidden_size, rng_stream{seed, 1}),
          LayerNorm(c.hidden_size, static_cast<T>(c.layer_norm_eps)), dropout_p(c.hidden_dropout_prob) {}

    /// x (B, T, C) -> (B, T, C); `site` numbers its dropout draw.
    autograd::var<T, dextents<3>, B> operator()(const autograd::var<T, dextents<3>, B>& x, const dropout_source& d = {},
                                                std::uint64_t site = 0) const {
        auto h = intermediate(x, backend::gemm_activation::gelu); // (B, T, I)
        if (!detail::dropout_active(dropout_p, d)) return LayerNorm(output.with_residual(h, x));
        return LayerNorm(autograd::add(detail::dropout(output(h), dropout_p, d, site), x));
    }

    void append_parameters(parameter_list<T, B>& out, const std::string& prefix) const {
        intermediate.append_parameters(out, prefix + "intermediate.dense.");
        output.append_parameters(out, prefix + "output.dense.");
        LayerNorm.append_parameters(out, prefix + "output.LayerNorm.");
    }
};

} // namespace nn
STARBUCKS_NAMESPACE_END
