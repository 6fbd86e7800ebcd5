// SPDX-License-Identifier: Apache-2.0
// eval::sts: Spearman × 100 of cosine similarity against gold scores for many (layers, dims)
// sizes at once: the encoder runs once per batch up to the deepest layer asked for, each layer
// is pooled once, and every dim is a prefix of that pooled vector (METHOD.md §5).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "../autograd/autograd.hpp"
#include "../backend/frozen_weights.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "../data/token_batch.hpp"
#include "../matryoshka/pairs.hpp"
#include "../nn/bert_encoder.hpp"
#include "../nn/pooling.hpp"
#include "../ops/transfer.hpp"
#include "../text/wordpiece.hpp"
#include "correlation.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace eval {

/// One gold-scored pair of texts.
struct scored_pair {
    std::string_view text1, text2;
    double score = 0;
};

enum class pooling { mean, cls };

struct sts_options {
    std::size_t batch_size = 64;   ///< pairs per forward (2 × texts)
    std::size_t max_length = 128;  ///< tokens per text, [CLS] and [SEP] included
    pooling pool = pooling::mean;
};

/// The score of one size on one data set.
struct sts_result {
    matryoshka::size_pair size;
    double spearman = 0; ///< × 100
    double pearson = 0;  ///< × 100
};

/// @brief The full layers × dims grid for a model: every layer 1..layers with each of `dims`.
inline std::vector<matryoshka::size_pair> grid(std::size_t layers, const std::vector<std::size_t>& dims) {
    std::vector<matryoshka::size_pair> out;
    for (std::size_t n = 1; n <= layers; ++n)
        for (std::size_t d : dims) out.push_back({n, d});
    return out;
}

/// @brief Evaluates `sizes` of `model` on `data` with one encoder pass per batch.
///
/// Cosine similarity of the two texts' pooled vectors cut to d, then Spearman and Pearson (× 100)
/// against the gold scores. Sizes may repeat layers or dims in any order.
/// @throws usage_error for an empty data set or a size beyond the model; numeric_error when a
/// cosine is not finite (naming the pair); as eval::spearman for constant input.
template <class T, class B>
std::vector<sts_result> evaluate_sts(nn::bert_encoder<T, B>& model, const text::wordpiece& tokenizer, const std::vector<scored_pair>& data,
                                     const std::vector<matryoshka::size_pair>& sizes, const sts_options& o = {}) {
    if (data.size() < 2) throw usage_error("starbucks::eval::evaluate_sts", "needs at least 2 scored pairs, got " + std::to_string(data.size()));
    if (sizes.empty()) throw usage_error("starbucks::eval::evaluate_sts", "no sizes to evaluate");
    std::size_t deepest = 0;
    for (const auto& s : sizes) {
        if (s.layers < 1 || s.layers > model.n_layers() || s.dim < 1 || s.dim > model.config.hidden_size)
            throw usage_error("starbucks::eval::evaluate_sts", "size " + matryoshka::to_string(s) + " is outside the model; allowed: layers 1.." +
                                                                   std::to_string(model.n_layers()) + ", dims 1.." +
                                                                   std::to_string(model.config.hidden_size));
        deepest = std::max(deepest, s.layers);
    }
    autograd::no_grad inference;
    backend::frozen_weights_scope frozen; // weights stay packed across the batches
    const bool was_training = model.training;
    model.training = false;
    std::vector<std::vector<double>> cosines(sizes.size());
    std::vector<double> gold;
    for (std::size_t begin = 0; begin < data.size(); begin += o.batch_size) {
        const std::size_t rows = std::min(o.batch_size, data.size() - begin);
        std::vector<std::string_view> texts;
        for (std::size_t r = 0; r < rows; ++r) texts.push_back(data[begin + r].text1);
        for (std::size_t r = 0; r < rows; ++r) texts.push_back(data[begin + r].text2);
        for (std::size_t r = 0; r < rows; ++r) gold.push_back(data[begin + r].score);
        const auto batch = starbucks::data::tokenize<T, B>(tokenizer, texts, o.max_length, model.config.vocab_size, "starbucks::eval::evaluate_sts");
        const auto& mask = batch.mask;
        const auto hidden = model(batch.ids, mask, deepest);
        std::vector<std::optional<autograd::var<T, dextents<2>, B>>> pooled(hidden.size());
        for (std::size_t k = 0; k < sizes.size(); ++k) {
            const auto [layer, dim] = sizes[k];
            if (!pooled[layer])
                pooled[layer] = o.pool == pooling::mean ? nn::mean_pooling(hidden[layer], mask) : autograd::contiguous(nn::cls_pooling(hidden[layer]));
            const auto v = host_copy(pooled[layer]->value()); // (2 rows, C)
            for (std::size_t r = 0; r < rows; ++r) {
                double dot = 0, na = 0, nb = 0;
                for (std::size_t c = 0; c < dim; ++c) {
                    const double a = v(r, c), b = v(rows + r, c);
                    dot += a * b;
                    na += a * a;
                    nb += b * b;
                }
                const double cosine = dot / std::max(std::sqrt(na) * std::sqrt(nb), 1e-12);
                if (!std::isfinite(cosine))
                    throw numeric_error("starbucks::eval::evaluate_sts", "pair " + std::to_string(begin + r + 1),
                                        "cosine at " + matryoshka::to_string(sizes[k]) + " is not finite");
                cosines[k].push_back(cosine);
            }
        }
    }
    model.training = was_training;
    std::vector<sts_result> out;
    for (std::size_t k = 0; k < sizes.size(); ++k)
        out.push_back({sizes[k], 100 * spearman(cosines[k], gold), 100 * pearson(cosines[k], gold)});
    return out;
}

} // namespace eval
STARBUCKS_NAMESPACE_END
