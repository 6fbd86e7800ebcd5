// SPDX-License-Identifier: Apache-2.0
// nn::bert_for_mlm: a BERT encoder plus its tied MLM head, named and loaded as HF BertForMaskedLM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bert_config.hpp"
#include "bert_encoder.hpp"
#include "mlm_head.hpp"
#include "module.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// @brief Encoder (`bert.*`) and MLM head (`cls.predictions.*`) whose decoder is the encoder's
/// word-embedding parameter.
///
/// parameters() lists HF BertForMaskedLM names; the tied `cls.predictions.decoder.weight` (and
/// the `decoder.bias` alias of `cls.predictions.bias`) that checkpoints may also store are not
/// separate parameters, so load() reads `bert.embeddings.word_embeddings.weight` and ignores them.
template <real T, backend::backend_policy B = backend::reference>
struct bert_for_mlm {
    bert_encoder<T, B> bert;
    mlm_head<T, B> cls; ///< cls.predictions

    /// @brief Freshly initialised (the encoder from `seed`, the head from a stream after the
    /// encoder's). @throws usage_error when the config is inconsistent.
    explicit bert_for_mlm(const bert_config& c, std::uint64_t seed = 0)
        : bert(c, seed), cls(c, seed + 2 + 2 * c.num_hidden_layers) {}

    const bert_config& config() const noexcept { return bert.config; }

    /// The decoder matrix: the encoder's word embeddings, [V, C].
    const matrix_var<T, B>& decoder_weight() const noexcept { return bert.embeddings.word_embeddings.weight; }

    /// @brief Logits (..., V) of hidden states h (..., d), d <= C (the sub-width form when d < C).
    template <class E>
    auto logits(const autograd::var<T, E, B>& h) const {
        return cls(h, decoder_weight());
    }

    /// @brief Logits (B, T, V) after the first n layers (all by default), as BertForMaskedLM.
    /// @throws as bert_encoder::operator().
    auto operator()(const id_tensor<B>& ids, const mask_tensor<T, B>& mask, std::optional<std::size_t> n = std::nullopt,
                    const std::optional<id_tensor<B>>& token_types = std::nullopt) {
        return logits(bert(ids, mask, n, token_types).back());
    }

    /// `bert.<encoder names>`, then `cls.predictions.transform.*` and `cls.predictions.bias`.
    parameter_list<T, B> parameters() const {
        parameter_list<T, B> out;
        for (auto& [name, value] : bert.parameters()) out.emplace_back("bert." + name, value);
        cls.append_parameters(out, "cls.predictions.");
        return out;
    }

    /// @brief Overwrites every parameter from `source` (a BertForMaskedLM or BertForPreTraining
    /// checkpoint). @throws model_error naming the tensor when one is missing, mis-shaped or unknown.
    template <tensor_source S>
    void load(const S& source) {
        load_parameters(*this, source);
    }
};

} // namespace nn
STARBUCKS_NAMESPACE_END
