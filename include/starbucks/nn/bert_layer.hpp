// SPDX-License-Identifier: Apache-2.0
// nn::bert_layer: one post-norm transformer layer of BERT (attention block, then FFN block).
#pragma once

#include <cstdint>
#include <string>

#include "attention.hpp"
#include "bert_config.hpp"
#include "ffn.hpp"
#include "module.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// @brief HF `BertLayer`: ffn(attention(x, mask)).
template <real T, backend::backend_policy B = backend::reference>
struct bert_layer {
    bert_attention<T, B> attention;
    bert_ffn<T, B> ffn;

    bert_layer() = default;
    /// Streams of `seed` and `seed + 1` initialise the attention and FFN blocks.
    bert_layer(const bert_config& c, std::uint64_t seed) : attention(c, seed), ffn(c, seed + 1) {}

    /// Dropout sites used: site .. site + 2.
    static constexpr std::uint64_t dropout_sites = 3;

    /// x (B, T, C), additive mask (B, 1, 1, T) -> (B, T, C).
    template <class EM>
    autograd::var<T, dextents<3>, B> operator()(const autograd::var<T, dextents<3>, B>& x, const autograd::var<T, EM, B>& mask,
                                                const dropout_source& d = {}, std::uint64_t site = 0) const {
        return ffn(attention(x, mask, d, site), d, site + 2);
    }

    /// HF names under `<prefix>` (`encoder.layer.3.`): attention.*, intermediate.*, output.*.
    void append_parameters(parameter_list<T, B>& out, const std::string& prefix) const {
        attention.append_parameters(out, prefix + "attention.");
        ffn.append_parameters(out, prefix);
    }
};

} // namespace nn
STARBUCKS_NAMESPACE_END
