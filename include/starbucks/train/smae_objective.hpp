// SPDX-License-Identifier: Apache-2.0
// train::smae_objective: the pre-training losses of METHOD.md section 4 on one masked batch.
// SMAE sums, per (layer, dim) pair, MLM on the sub-model and MAE reconstruction through the
// one-layer decoder; the plain-MLM ablation is the ordinary full-model masked-LM loss.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../autograd/autograd.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "../matryoshka/multi_target.hpp"
#include "../matryoshka/pairs.hpp"
#include "../nn/bert_for_smae.hpp"
#include "../ops/transfer.hpp"
#include "masking.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace train {

/// What pre-training optimises.
enum class pretrain_method {
    smae, ///< Starbucks masked autoencoding over the pair list
    mlm,  ///< plain whole-word MLM on the full model (the ablation)
};

inline std::string to_string(pretrain_method m) { return m == pretrain_method::smae ? "smae" : "mlm"; }

/// @throws usage_error naming the choices.
inline pretrain_method parse_pretrain_method(std::string_view s) {
    if (s == "smae") return pretrain_method::smae;
    if (s == "mlm") return pretrain_method::mlm;
    throw usage_error("--objective", "\"" + std::string(s) + "\" is not an objective; choose smae or mlm");
}

/// Masked sequences padded to the longest (pad id 0, label not_predicted, mask 0).
template <class T, class B>
struct masked_batch {
    nn::id_tensor<B> encoder_ids, encoder_labels, decoder_ids, decoder_labels; ///< (B, T)
    nn::mask_tensor<T, B> mask;                                               ///< (B, T), 1 for tokens
};

/// @brief Pads `sequences` into one batch. @throws usage_error when there is none.
template <class T, class B>
masked_batch<T, B> collate(const std::vector<masked_sequence>& sequences, std::int64_t pad_id = 0) {
    if (sequences.empty()) throw usage_error("starbucks::train::collate", "no sequences");
    std::size_t longest = 0;
    for (const auto& s : sequences) longest = std::max(longest, s.ids.size());
    const dextents<2> e(sequences.size(), longest);
    using H = backend::host_backend_t<B>; // built on the host, then moved to B
    masked_batch<T, H> b{full<std::int64_t, H>(e, pad_id), full<std::int64_t, H>(e, not_predicted), full<std::int64_t, H>(e, pad_id),
                         full<std::int64_t, H>(e, not_predicted), zeros<T, H>(e)};
    for (std::size_t r = 0; r < sequences.size(); ++r)
        for (std::size_t t = 0; t < sequences[r].ids.size(); ++t) {
            b.encoder_ids(r, t) = sequences[r].encoder.ids[t];
            b.encoder_labels(r, t) = sequences[r].encoder.labels[t];
            b.decoder_ids(r, t) = sequences[r].decoder.ids[t];
            b.decoder_labels(r, t) = sequences[r].decoder.labels[t];
            b.mask(r, t) = T(1);
        }
    return masked_batch<T, B>{to<B>(std::move(b.encoder_ids)), to<B>(std::move(b.encoder_labels)), to<B>(std::move(b.decoder_ids)),
                              to<B>(std::move(b.decoder_labels)), to<B>(std::move(b.mask))};
}

namespace detail {

/// The predicted positions of labels (B, T) as flat row indices b·T + t, and their labels.
template <class B>
std::pair<tensor<std::int64_t, dextents<1>, B>, tensor<std::int64_t, dextents<1>, B>> predicted(const nn::id_tensor<B>& labels) {
    const auto host_labels = host_copy(labels);
    std::vector<std::int64_t> rows, targets;
    for (std::size_t b = 0; b < labels.extent(0); ++b)
        for (std::size_t t = 0; t < labels.extent(1); ++t)
            if (host_labels(b, t) != not_predicted) {
                rows.push_back(static_cast<std::int64_t>(b * labels.extent(1) + t));
                targets.push_back(host_labels(b, t));
            }
    using H = backend::host_backend_t<B>;
    tensor<std::int64_t, dextents<1>, H> r(dextents<1>(rows.size())), y(dextents<1>(rows.size()));
    std::copy(rows.begin(), rows.end(), r.data());
    std::copy(targets.begin(), targets.end(), y.data());
    return {to<B>(std::move(r)), to<B>(std::move(y))};
}

/// Rows `index` of h (B, T, C) as (M, C); their gradient scatters back into h.
template <class T, class B>
autograd::var<T, dextents<2>, B> gather_rows(const autograd::var<T, dextents<3>, B>& h, const tensor<std::int64_t, dextents<1>, B>& index) {
    const auto flat = autograd::reshape(h, dextents<2>(h.extent(0) * h.extent(1), h.extent(2)));
    return autograd::embedding(flat, index);
}

} // namespace detail

/// @brief The pre-training loss of `batch` (a multi-target, one backward).
///
/// smae: for each pair (n, d), term `mlm_n{n}_d{d}` = cross-entropy of the MLM head on
/// hidden_states[n][:, :, :d] at the encoder-masked positions, and term `mae_n{n}_d{d}` =
/// cross-entropy of the head on the decoder's output at the decoder-masked positions, where the
/// decoder reads the embeddings of the decoder copy with position 0 replaced by the lifted CLS
/// vector g_d(hidden_states[n][:, 0, :d]); every term weighs 1 / (2·pairs), so the total is the
/// mean over pairs of (MLM + MAE) / 2. The decoder embeddings are computed once per batch.
/// mlm: one term `mlm_n{L}_d{C}` on the full model, weight 1.
/// A batch without predicted positions gives a NaN term (the trainer skips such steps).
/// @throws usage_error when a pair exceeds the model.
template <class T, class B>
matryoshka::multi_target<T, B> smae_objective(nn::bert_for_smae<T, B>& model, const masked_batch<T, B>& batch,
                                              const matryoshka::pair_list& pairs, pretrain_method method) {
    auto& encoder = model.mlm.bert;
    const std::size_t layers = encoder.n_layers(), width = model.config().hidden_size;
    matryoshka::multi_target<T, B> total;
    const auto [enc_rows, enc_targets] = detail::predicted(batch.encoder_labels);
    if (method == pretrain_method::mlm) {
        const auto hidden = encoder(batch.encoder_ids, batch.mask);
        const auto logits = model.mlm.logits(detail::gather_rows(hidden.back(), enc_rows));
        total.add("mlm_" + matryoshka::label({layers, width}), autograd::cross_entropy(logits, enc_targets), 1.0);
        return total;
    }
    pairs.check_fits(layers, width, "--pairs");
    const std::size_t deepest = pairs.largest().layers;
    const auto hidden = encoder(batch.encoder_ids, batch.mask, deepest);
    // The decoder's dropout uses the encoder's step with its own seed, so its masks never repeat the encoder's.
    const nn::dropout_source decoder_dropout{encoder.training, encoder.dropout_seed ^ 0xdec0de5eedull,
                                             encoder.training ? encoder.training_forwards() - 1 : 0};
    const auto decoder_embeddings = model.mlm.bert.embeddings(batch.decoder_ids, std::nullopt, decoder_dropout); // (B, T, C)
    const std::size_t rows = batch.mask.extent(0), tokens = batch.mask.extent(1);
    const auto rest = autograd::slice(decoder_embeddings, 1, 1, tokens);
    const auto additive = nn::additive_mask(batch.mask);
    const auto [dec_rows, dec_targets] = detail::predicted(batch.decoder_labels);
    const double weight = 0.5 / double(pairs.size());
    std::uint64_t site = 1;
    for (const auto& p : pairs) {
        const auto& h = hidden[p.layers];
        const auto mlm_logits = model.mlm.logits(autograd::prefix(detail::gather_rows(h, enc_rows), p.dim));
        total.add("mlm_" + matryoshka::label(p), autograd::cross_entropy(mlm_logits, enc_targets), weight);

        const auto z = model.mlm.cls.transform(autograd::prefix(autograd::select<1>(h, 0), p.dim)); // (B, C)
        const auto input = autograd::concat<1>(autograd::reshape(z, dextents<3>(rows, 1, width)), rest);
        const auto out = model.decoder(input, additive, decoder_dropout, site);
        site += nn::bert_layer<T, B>::dropout_sites;
        const auto mae_logits = model.mlm.logits(detail::gather_rows(out, dec_rows));
        total.add("mae_" + matryoshka::label(p), autograd::cross_entropy(mae_logits, dec_targets), weight);
    }
    return total;
}

} // namespace train
STARBUCKS_NAMESPACE_END
