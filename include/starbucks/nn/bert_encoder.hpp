// SPDX-License-Identifier: Apache-2.0
// nn::bert_encoder: embeddings plus a stack of BERT layers (HF BertModel without the pooler),
// returning every hidden state and able to stop after any layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attention.hpp"
#include "bert_config.hpp"
#include "bert_layer.hpp"
#include "embedding.hpp"
#include "module.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// @brief A BERT encoder whose widths come from a bert_config at run time.
///
/// Parameters carry Hugging Face BertModel names (`embeddings.word_embeddings.weight`,
/// `encoder.layer.{i}.attention.self.query.weight`, ...). Dropout is active only while
/// `training` is true; each training forward draws fresh masks from (dropout_seed, step).
template <real T, backend::backend_policy B = backend::reference>
struct bert_encoder {
    bert_config config;
    bert_embeddings<T, B> embeddings;
    std::vector<bert_layer<T, B>> layers;
    bool training = false;
    std::uint64_t dropout_seed = 0;

    /// @brief A freshly initialised encoder (weights ~ Normal(0, 0.02) from `seed`, zero biases,
    /// LayerNorm 1 and 0). @throws usage_error when the config is inconsistent.
    explicit bert_encoder(const bert_config& c, std::uint64_t seed = 0) : config(c), dropout_seed(seed ^ 0x5eed) {
        c.check();
        embeddings = bert_embeddings<T, B>(c, seed);
        layers.reserve(c.num_hidden_layers);
        for (std::size_t i = 0; i < c.num_hidden_layers; ++i) layers.emplace_back(c, seed + 2 + 2 * i);
    }

    std::size_t n_layers() const noexcept { return layers.size(); }

    /// @brief Hidden states of the embeddings and of layers 1..n: n + 1 tensors (B, T, C),
    /// `[0]` the embedding output. Only the first n layers run (n defaults to all).
    /// @param mask (B, T), 1 for real tokens, 0 for padding.
    /// @throws usage_error when n exceeds the layer count; shape_error on inconsistent inputs.
    std::vector<autograd::var<T, dextents<3>, B>> operator()(const id_tensor<B>& ids, const mask_tensor<T, B>& mask,
                                                             std::optional<std::size_t> n = std::nullopt,
                                                             const std::optional<id_tensor<B>>& token_types = std::nullopt) {
        const std::size_t run = n.value_or(layers.size());
        if (run > layers.size())
            throw usage_error("starbucks::nn::bert_encoder", "asked for " + std::to_string(run) + " layers; the model has " +
                                                                 std::to_string(layers.size()));
        if (!(mask.dims() == ids.dims()))
            throw shape_error("starbucks::nn::bert_encoder", "mask " + to_string(mask.dims()) + " vs ids " + to_string(ids.dims()));
        const dropout_source d{training, dropout_seed, training ? step_++ : 0};
        const auto additive = additive_mask(mask);
        std::vector<autograd::var<T, dextents<3>, B>> hidden;
        hidden.reserve(run + 1);
        hidden.push_back(embeddings(ids, token_types, d));
        for (std::size_t i = 0; i < run; ++i)
            hidden.push_back(layers[i](hidden.back(), additive, d, 1 + i * bert_layer<T, B>::dropout_sites));
        return hidden;
    }

    /// Every parameter under its Hugging Face name, embeddings first, then layer by layer.
    parameter_list<T, B> parameters() const {
        parameter_list<T, B> out;
        embeddings.append_parameters(out, "embeddings.");
        for (std::size_t i = 0; i < layers.size(); ++i) layers[i].append_parameters(out, "encoder.layer." + std::to_string(i) + ".");
        return out;
    }

    /// @brief Overwrites every parameter from `source` (names with or without `bert.`).
    /// @throws model_error naming the tensor when one is missing, mis-shaped or unknown.
    template <tensor_source S>
    void load(const S& source) {
        load_parameters(*this, source);
    }

    /// Training forwards run so far: the dropout step of the next one. A checkpoint saves it
    /// and resume restores it, so resumed training draws the same masks.
    std::uint64_t training_forwards() const noexcept { return step_; }
    void set_training_forwards(std::uint64_t n) noexcept { step_ = n; }

private:
    std::uint64_t step_ = 0;
};

} // namespace nn
STARBUCKS_NAMESPACE_END
