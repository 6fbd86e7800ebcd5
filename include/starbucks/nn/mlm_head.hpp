// SPDX-License-Identifier: Apache-2.0
// nn::mlm_head: BERT's masked-language-model head (HF BertOnlyMLMHead) with a decoder tied to
// the word embeddings, usable on a width prefix of the hidden states (SMAE, METHOD.md section 4).
#pragma once

#include <cstdint>
#include <string>

#include "bert_config.hpp"
#include "layer_norm.hpp"
#include "linear.hpp"
#include "module.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// @brief logits = LayerNorm(GELU(W·h + b))·Eᵀ + bias, with E the word-embedding matrix.
///
/// The head owns the transform (`dense`, `LayerNorm`) and the vocabulary bias; it does not own
/// the decoder matrix. The caller passes the embedding parameter itself at each call, so the
/// decoder is the same autograd parameter as the input embeddings (as HF ties
/// `cls.predictions.decoder.weight` to `bert.embeddings.word_embeddings.weight`) and no copy
/// can drift from it. HF names, under `prefix` = `cls.predictions.`: `transform.dense.{weight,bias}`,
/// `transform.LayerNorm.{weight,bias}`, `bias`. The activation is GELU in its erf form, the only
/// `hidden_act` io::read_bert_config accepts.
///
/// Sub-width form: for h of width d < C the dense layer uses only its first d input columns,
/// g_d(h) = LayerNorm(GELU(W[:, :d]·h + b)), through a zero-copy prefix view of W, so gradients
/// land in those columns of the one full W. Output width, bias and LayerNorm are unchanged.
template <real T, backend::backend_policy B = backend::reference>
struct mlm_head {
    linear<T, B> dense;             ///< transform.dense, [C, C]
    nn::layer_norm<T, B> LayerNorm; // NOLINT(readability-identifier-naming): transform.LayerNorm, [C]
    vector_var<T, B> bias;          ///< the decoder's vocabulary bias `cls.predictions.bias`, [V]

    mlm_head() = default;
    /// HF initialisation: dense ~ Normal(0, 0.02) from stream 0 of `seed`, zero biases, LayerNorm 1 and 0.
    mlm_head(const bert_config& c, std::uint64_t seed)
        : dense(c.hidden_size, c.hidden_size, rng_stream{seed, 0}), LayerNorm(c.hidden_size, static_cast<T>(c.layer_norm_eps)),
          bias(detail::constant_parameter<T, B>(dextents<1>(c.vocab_size), T(0))) {}

    std::size_t hidden_size() const noexcept { return dense.out_features(); }
    std::size_t vocab_size() const noexcept { return bias.extent(0); }

    /// @brief The prediction transform g_d: h (..., d) with 1 <= d <= C -> (..., C).
    /// @throws shape_error naming the allowed widths when d is 0 or exceeds C.
    template <class E>
    auto transform(const autograd::var<T, E, B>& h) const {
        const std::size_t width = h.extent(E::rank() - 1);
        const std::size_t full = dense.in_features();
        if (width < 1 || width > full)
            throw shape_error("starbucks::nn::mlm_head", "input width " + std::to_string(width) + " is outside 1.." + std::to_string(full) +
                                                             " (the hidden size)");
        // A view, not a copy: its backward scatters into columns [0, d) of the full weight.
        const auto w = width == full ? dense.weight : autograd::prefix(dense.weight, width, 1); // [C, d]
        return LayerNorm(autograd::linear(h, w, dense.bias, backend::gemm_activation::gelu));
    }

    /// @brief Vocabulary logits (..., V) of h (..., d), decoding with `word_embeddings` ([V, C],
    /// the encoder's embedding parameter) plus `bias`.
    /// @throws shape_error when the widths disagree (see transform) or the matrix is not [V, C].
    template <class E>
    auto operator()(const autograd::var<T, E, B>& h, const matrix_var<T, B>& word_embeddings) const {
        if (word_embeddings.extent(0) != vocab_size() || word_embeddings.extent(1) != hidden_size())
            throw shape_error("starbucks::nn::mlm_head", "decoder matrix " + to_string(word_embeddings.dims()) + " is not [" +
                                                             std::to_string(vocab_size()) + ", " + std::to_string(hidden_size()) + "]");
        return autograd::linear(transform(h), word_embeddings, bias);
    }

    /// Appends `<prefix>transform.dense.*`, `<prefix>transform.LayerNorm.*` and `<prefix>bias`
    /// (the tied decoder matrix belongs to the embeddings and is not listed again).
    void append_parameters(parameter_list<T, B>& out, const std::string& prefix) const {
        dense.append_parameters(out, prefix + "transform.dense.");
        LayerNorm.append_parameters(out, prefix + "transform.LayerNorm.");
        out.emplace_back(prefix + "bias", bias);
    }
};

} // namespace nn
STARBUCKS_NAMESPACE_END
