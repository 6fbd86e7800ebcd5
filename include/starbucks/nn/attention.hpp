// SPDX-License-Identifier: Apache-2.0
// nn::bert_attention: multi-head self-attention with an additive padding mask, then the output
// dense, dropout, residual and LayerNorm (BertSelfAttention + BertSelfOutput).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "../ops/transfer.hpp"
#include "bert_config.hpp"
#include "layer_norm.hpp"
#include "linear.hpp"
#include "module.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// A padding mask (B, T) of 0/1 values on the model's backend: 1 marks a real token.
template <class T, class B>
using mask_tensor = tensor<T, dextents<2>, B>;

/// @brief The additive attention mask (B, 1, 1, T): 0 on real tokens, the lowest finite T on
/// padding, as transformers builds it ((1 - mask) * finfo(dtype).min). Padded keys then get
/// exactly zero probability, while a row of only padding still softmaxes to finite values.
template <real T, class B>
autograd::var<T, dextents<4>, B> additive_mask(const mask_tensor<T, B>& mask) {
    const std::size_t batch = mask.extent(0), tokens = mask.extent(1);
    // (mask - 1) * max: 0 or lowest on a 0/1 mask, by backend ops, so it runs where the mask is.
    auto shifted = scale(sub(mask, full<T, B>(dextents<1>(1), T(1))), std::numeric_limits<T>::max());
    return autograd::constant_input(contiguous(reshape(shifted, dextents<4>(batch, 1, 1, tokens))));
}

/// @brief Multi-head self-attention block of one BERT layer (HF `attention.self` + `attention.output`).
template <real T, backend::backend_policy B = backend::reference>
struct bert_attention {
    linear<T, B> query, key, value; ///< attention.self.{query,key,value}
    linear<T, B> dense;             ///< attention.output.dense
    nn::layer_norm<T, B> LayerNorm; // NOLINT(readability-identifier-naming): attention.output.LayerNorm
    std::size_t heads = 1;
    double attention_dropout_p = 0.1;
    double hidden_dropout_p = 0.1;

    bert_attention() = default;
    /// Streams 0..3 of `seed` initialise query, key, value and dense.
    bert_attention(const bert_config& c, std::uint64_t seed)
        : query(c.hidden_size, c.hidden_size, rng_stream{seed, 0}), key(c.hidden_size, c.hidden_size, rng_stream{seed, 1}),
          value(c.hidden_size, c.hidden_size, rng_stream{seed, 2}), dense(c.hidden_size, c.hidden_size, rng_stream{seed, 3}),
          LayerNorm(c.hidden_size, static_cast<T>(c.layer_norm_eps)), heads(c.num_attention_heads),
          attention_dropout_p(c.attention_probs_dropout_prob), hidden_dropout_p(c.hidden_dropout_prob) {
        c.check();
    }

    /// @brief x (B, T, C) and an additive mask (B, 1, 1, T) -> (B, T, C).
    /// `site` numbers this block's two dropout draws (site, site + 1).
    /// @throws shape_error when C is not the model width or the mask does not broadcast.
    template <class EM>
    autograd::var<T, dextents<3>, B> operator()(const autograd::var<T, dextents<3>, B>& x, const autograd::var<T, EM, B>& mask,
                                                const dropout_source& d = {}, std::uint64_t site = 0) const {
        namespace ag = autograd;
        const std::size_t width = query.out_features();
        // One fused op per layer: the (B, H, T, T) scores and probabilities stay in a per-sample
        // scratch, forward and backward (ops/attention.hpp).
        attention_options<T> o;
        o.heads = heads;
        o.scale = T(1) / std::sqrt(T(width / heads));
        if (detail::dropout_active(attention_dropout_p, d)) {
            o.dropout_p = static_cast<T>(attention_dropout_p);
            o.rng = detail::dropout_stream(d, site);
        }
        auto merged = ag::attention(query(x), key(x), value(x), mask, o); // (B,T,C), heads side by side
        if (!detail::dropout_active(hidden_dropout_p, d)) return LayerNorm(dense.with_residual(merged, x));
        return LayerNorm(ag::add(detail::dropout(dense(merged), hidden_dropout_p, d, site + 1), x));
    }

    void append_parameters(parameter_list<T, B>& out, const std::string& prefix) const {
        query.append_parameters(out, prefix + "self.query.");
        key.append_parameters(out, prefix + "self.key.");
        value.append_parameters(out, prefix + "self.value.");
        dense.append_parameters(out, prefix + "output.dense.");
        LayerNorm.append_parameters(out, prefix + "output.LayerNorm.");
    }
};

} // namespace nn
STARBUCKS_NAMESPACE_END
