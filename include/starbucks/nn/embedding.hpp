// SPDX-License-Identifier: Apache-2.0
// nn::embedding (a lookup table) and nn::bert_embeddings (word + position + token type,
// then LayerNorm and dropout), as BertEmbeddings computes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "../ops/transfer.hpp"
#include "bert_config.hpp"
#include "layer_norm.hpp"
#include "module.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// Int64 token ids (B, T) on the model's backend.
template <class B>
using id_tensor = tensor<std::int64_t, dextents<2>, B>;

/// @brief A table of `count` vectors of `width`; looks rows up by int64 id.
template <real T, backend::backend_policy B = backend::reference>
struct embedding {
    matrix_var<T, B> weight; ///< [count, width]

    embedding() = default;
    embedding(std::size_t count, std::size_t width, rng_stream rng)
        : weight(detail::normal_parameter<T, B>(dextents<2>(count, width), rng)) {}

    /// ids (...) -> (..., width). @throws shape_error naming an id outside [0, count).
    template <tensor_like I>
    auto operator()(const I& ids) const {
        return autograd::embedding(weight, ids);
    }

    void append_parameters(parameter_list<T, B>& out, const std::string& prefix) const {
        out.emplace_back(prefix + "weight", weight);
    }
};

/// @brief BERT's input layer: LayerNorm(word[ids] + token_type[types] + position[0..T)), then dropout.
template <real T, backend::backend_policy B = backend::reference>
struct bert_embeddings {
    embedding<T, B> word_embeddings;
    embedding<T, B> position_embeddings;
    embedding<T, B> token_type_embeddings;
    nn::layer_norm<T, B> LayerNorm; // NOLINT(readability-identifier-naming): the HF name
    double dropout_p = 0.1;

    bert_embeddings() = default;
    /// Streams 0..2 of `seed` initialise the three tables.
    bert_embeddings(const bert_config& c, std::uint64_t seed)
        : word_embeddings(c.vocab_size, c.hidden_size, rng_stream{seed, 0}),
          position_embeddings(c.max_position_embeddings, c.hidden_size, rng_stream{seed, 1}),
          token_type_embeddings(c.type_vocab_size, c.hidden_size, rng_stream{seed, 2}),
          LayerNorm(c.hidden_size, static_cast<T>(c.layer_norm_eps)), dropout_p(c.hidden_dropout_prob) {}

    /// @brief ids (B, T) and optional token types (B, T, default all 0) -> (B, T, C).
    /// @throws shape_error when T exceeds max_position_embeddings, the two id tensors differ in
    /// shape, or an id is out of range.
    autograd::var<T, dextents<3>, B> operator()(const id_tensor<B>& ids, const std::optional<id_tensor<B>>& token_types = std::nullopt,
                                                const dropout_source& d = {}) const {
        const std::size_t batch = ids.extent(0), tokens = ids.extent(1);
        if (tokens > position_embeddings.weight.extent(0))
            throw shape_error("starbucks::nn::bert_embeddings", "sequence of " + std::to_string(tokens) +
                                                                   " tokens exceeds max_position_embeddings " +
                                                                   std::to_string(position_embeddings.weight.extent(0)));
        if (token_types && !(token_types->dims() == ids.dims()))
            throw shape_error("starbucks::nn::bert_embeddings",
                              "token types " + to_string(token_types->dims()) + " vs ids " + to_string(ids.dims()));
        auto host_positions = tensor<std::int64_t, dextents<1>, backend::host_backend_t<B>>(dextents<1>(tokens));
        for (std::size_t t = 0; t < tokens; ++t) host_positions(t) = static_cast<std::int64_t>(t);
        auto positions = to<B>(std::move(host_positions));
        auto types = token_types ? *token_types : zeros<std::int64_t, B>(dextents<2>(batch, tokens));
        // HF's order: (word + token type) + position.
        auto sum = autograd::add(autograd::add(word_embeddings(ids), token_type_embeddings(types)),
                                 position_embeddings(positions)); // (B, T, C)
        return detail::dropout(LayerNorm(sum), dropout_p, d, 0);
    }

    void append_parameters(parameter_list<T, B>& out, const std::string& prefix) const {
        word_embeddings.append_parameters(out, prefix + "word_embeddings.");
        position_embeddings.append_parameters(out, prefix + "position_embeddings.");
        token_type_embeddings.append_parameters(out, prefix + "token_type_embeddings.");
        LayerNorm.append_parameters(out, prefix + "LayerNorm.");
    }
};

} // namespace nn
STARBUCKS_NAMESPACE_END
