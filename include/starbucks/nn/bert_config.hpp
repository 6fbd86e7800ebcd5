// SPDX-License-Identifier: Apache-2.0
// nn::bert_config: the sizes and settings of a BERT encoder (what config.json holds).
#pragma once

#include <cstddef>
#include <string>

#include "../config.hpp"
#include "../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// @brief The hyper-parameters of a BERT encoder, named as in Hugging Face's config.json.
///
/// io::read_bert_config fills one from a file; code may also build one by hand.
struct bert_config {
    std::size_t hidden_size = 768;
    std::size_t num_hidden_layers = 12;
    std::size_t num_attention_heads = 12;
    std::size_t intermediate_size = 3072;
    std::size_t vocab_size = 30522;
    std::size_t max_position_embeddings = 512;
    std::size_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    double hidden_dropout_prob = 0.1;
    double attention_probs_dropout_prob = 0.1;

    /// Width of one attention head.
    std::size_t head_size() const noexcept { return num_attention_heads ? hidden_size / num_attention_heads : 0; }

    /// @brief Checks what the modules rely on. @throws usage_error naming the field.
    void check() const {
        auto positive = [](const char* name, std::size_t v) {
            if (v == 0) throw usage_error("starbucks::nn::bert_config", std::string(name) + " is 0; it must be positive");
        };
        positive("hidden_size", hidden_size);
        positive("num_hidden_layers", num_hidden_layers);
        positive("num_attention_heads", num_attention_heads);
        positive("intermediate_size", intermediate_size);
        positive("vocab_size", vocab_size);
        positive("max_position_embeddings", max_position_embeddings);
        positive("type_vocab_size", type_vocab_size);
        if (hidden_size % num_attention_heads != 0)
            throw usage_error("starbucks::nn::bert_config", "hidden_size " + std::to_string(hidden_size) +
                                                                " is not a multiple of num_attention_heads " +
                                                                std::to_string(num_attention_heads));
        if (!(layer_norm_eps > 0) || !(layer_norm_eps < 1e300))
            throw usage_error("starbucks::nn::bert_config", "layer_norm_eps must be finite and > 0");
        auto probability = [](const char* name, double p) {
            if (!(p >= 0 && p < 1))
                throw usage_error("starbucks::nn::bert_config", std::string(name) + " must be in [0, 1)");
        };
        probability("hidden_dropout_prob", hidden_dropout_prob);
        probability("attention_probs_dropout_prob", attention_probs_dropout_prob);
    }
};

} // namespace nn
STARBUCKS_NAMESPACE_END
