// SPDX-License-Identifier: Apache-2.0
// nn::bert_for_smae: what SMAE pre-training trains (METHOD.md section 4): a BERT MLM model and the
// one-layer MAE decoder that shares its embeddings and MLM head.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

#include "bert_config.hpp"
#include "bert_for_mlm.hpp"
#include "bert_layer.hpp"
#include "module.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// @brief BertForMaskedLM (`bert.*`, `cls.predictions.*`) plus `decoder.*`, a BERT layer.
///
/// The decoder starts as a copy of encoder layer 1 (`bert.encoder.layer.0`); call
/// init_decoder_from_encoder() again after loading encoder weights that come without a decoder
/// (a Hugging Face checkpoint). Only the MLM model is exported; the decoder lives in checkpoints.
template <real T, backend::backend_policy B = backend::reference>
struct bert_for_smae {
    bert_for_mlm<T, B> mlm;
    bert_layer<T, B> decoder;

    explicit bert_for_smae(const bert_config& c, std::uint64_t seed = 0) : mlm(c, seed), decoder(c, seed + 1) {
        init_decoder_from_encoder();
    }

    const bert_config& config() const noexcept { return mlm.config(); }

    /// Copies the values of encoder layer 1 into the decoder (separate parameters afterwards).
    void init_decoder_from_encoder() {
        parameter_list<T, B> from, to;
        mlm.bert.layers.at(0).append_parameters(from, "");
        decoder.append_parameters(to, "");
        for (std::size_t i = 0; i < to.size(); ++i)
            std::visit([&](auto& dst) {
                using V = std::decay_t<decltype(dst)>;
                const auto src = std::get<V>(from[i].second).value();
                auto d = dst.mutable_value(); // a leaf: contiguous, and every handle sees the copy
                assign(d, as_const_view(src));
            }, to[i].second);
    }

    /// `bert.*`, `cls.predictions.*`, then `decoder.*`.
    parameter_list<T, B> parameters() const {
        auto out = mlm.parameters();
        decoder.append_parameters(out, "decoder.");
        return out;
    }
};

} // namespace nn
STARBUCKS_NAMESPACE_END
