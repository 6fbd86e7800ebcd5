// SPDX-License-Identifier: Apache-2.0
// train::objective: the loss of one fine-tuning batch under each strategy of METHOD.md §2–3,
// computed from ONE encoder forward (all hidden states): SRL (`starbucks`), sentence-transformers'
// Matryoshka2dLoss (`2dmse`), one model per pair (`separate`) and plain fine-tuning (`full`).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../autograd/autograd.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../losses/losses.hpp"
#include "../matryoshka/multi_target.hpp"
#include "../matryoshka/pairs.hpp"
#include "../nn/pooling.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace train {

/// How the sizes of the pair list are trained (METHOD.md §3 rows).
enum class strategy {
    starbucks, ///< SRL: every pair's task loss + 0.3·KL to the largest pair, every step
    twodmse,   ///< 2DMSE as sentence-transformers' Matryoshka2dLoss ran it in the paper
    separate,  ///< one model per pair: its first n layers only, full width (cut to d at evaluation)
    full,      ///< plain fine-tuning of the whole model; sub-models are cut post hoc
};
/// The task loss on each (n, d) embedding (STS task; retrieval always uses cross-entropy over
/// dot-product scores, METHOD.md §2.2).
enum class task_loss { cosent, mnrl };
/// What the model is trained for: sentence similarity (mean pooling, cosine) or dense retrieval
/// (CLS pooling, raw dot product, one query against B·G passages).
enum class task_kind { sts, retrieval };

/// @brief `starbucks`, `2dmse`, `separate` or `full`. @throws usage_error listing the choices.
inline strategy parse_strategy(std::string_view s) {
    if (s == "starbucks") return strategy::starbucks;
    if (s == "2dmse") return strategy::twodmse;
    if (s == "separate") return strategy::separate;
    if (s == "full") return strategy::full;
    throw usage_error("--strategy", "\"" + std::string(s) + "\" is not a strategy; choose starbucks, 2dmse, separate or full");
}
inline std::string to_string(strategy s) {
    switch (s) {
    case strategy::starbucks: return "starbucks";
    case strategy::twodmse: return "2dmse";
    case strategy::separate: return "separate";
    case strategy::full: return "full";
    }
    return "?";
}
/// @brief `cosent` or `mnrl`. @throws usage_error listing the choices.
inline task_loss parse_task_loss(std::string_view s) {
    if (s == "cosent") return task_loss::cosent;
    if (s == "mnrl") return task_loss::mnrl;
    throw usage_error("--loss", "\"" + std::string(s) + "\" is not a loss; choose cosent or mnrl");
}
inline std::string to_string(task_loss l) { return l == task_loss::cosent ? "cosent" : "mnrl"; }

/// @brief Everything that defines the loss of a step, apart from the data.
struct objective_options {
    strategy method = strategy::starbucks;
    task_loss loss = task_loss::cosent;
    /// The trained sizes, small to large; the largest is the KL teacher. For `separate`, the
    /// one pair whose model this run trains (only its layer count matters for the loss).
    matryoshka::pair_list pairs;
    double scale = 20;           ///< cosine × scale inside CoSENT and MNRL
    double kl_weight = 0.3;      ///< SRL's weight of each KL term
    bool detach_teacher = false; ///< SRL: the released code leaves the teacher attached
    /// 2dmse: false = the paper's run (layer loss weighted 1/l, teacher attached); true = the
    /// corrected sentence-transformers semantics (uniform weight, teacher detached).
    bool twodmse_corrected = false;
    double twodmse_temperature = 0.3; ///< 2dmse KL: softmax(f / 0.3), KL weighted by 0.3 too
    std::uint64_t seed = 42;          ///< 2dmse draws its (layer, dims) per step from (seed, step)
    task_kind task = task_kind::sts;
    std::size_t group_size = 8;       ///< retrieval: passages per query (1 positive + G−1 hard negatives)
    /// The encoder's depth, so that `full` and `2dmse` cannot silently train a shallower model
    /// when fewer hidden states are passed; 0 takes it from the hidden states.
    std::size_t model_layers = 0;
};

/// @brief How a batch's texts sit in the encoder input: `columns` blocks of `rows` texts.
/// CoSENT: 2 columns (first texts, second texts) and one score per row. MNRL: anchors, positives
/// and optionally hard negatives (2 or 3 columns), no scores.
template <class T>
struct batch_layout {
    std::size_t rows = 0;
    std::size_t columns = 0;
    std::vector<T> scores;
};

/// @brief How many encoder layers a step of this objective needs in a model `model_layers` deep.
inline std::size_t layers_needed(const objective_options& o, std::size_t model_layers) {
    switch (o.method) {
    case strategy::starbucks: return o.pairs.largest().layers;
    case strategy::separate: return o.pairs.largest().layers;
    case strategy::twodmse:
    case strategy::full: return model_layers;
    }
    return model_layers;
}

/// 2dmse's draws of one step: the dim of the last layer's loss, one earlier layer (0 when the
/// model has a single layer) and that layer's dim — from (seed, step) alone, so every rank and a
/// resumed run draw the same.
struct twodmse_draw {
    std::size_t last_dim = 0, layer = 0, layer_dim = 0;
};
inline twodmse_draw draw_twodmse(const objective_options& o, std::size_t model_layers, std::uint64_t step) {
    const rng_stream draws{o.seed, 0x2d35e000ull + step};
    twodmse_draw d;
    d.last_dim = o.pairs[draws.bits(0) % o.pairs.size()].dim;
    if (model_layers < 2) return d;
    d.layer = 1 + draws.bits(1) % (model_layers - 1);
    d.layer_dim = o.pairs[draws.bits(2) % o.pairs.size()].dim;
    return d;
}

/// @brief The layers whose pooled vectors the objective of `step` reads, ascending (what data
/// parallelism gathers across ranks).
inline std::vector<std::size_t> layers_read(const objective_options& o, std::size_t model_layers, std::uint64_t step) {
    std::vector<std::size_t> out;
    switch (o.method) {
    case strategy::starbucks:
        for (const auto& p : o.pairs) out.push_back(p.layers);
        break;
    case strategy::separate: out.push_back(o.pairs.largest().layers); break;
    case strategy::full: out.push_back(model_layers); break;
    case strategy::twodmse:
        if (const auto d = draw_twodmse(o, model_layers, step); d.layer) out.push_back(d.layer);
        out.push_back(model_layers);
        break;
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

namespace detail {

/// The task loss of embeddings u (rows·columns, d) laid out as `layout` says.
template <class T, class E, class B>
autograd::var<T, extents<>, B> task(const objective_options& o, const autograd::var<T, E, B>& u, const batch_layout<T>& layout) {
    namespace ag = autograd;
    const std::size_t r = layout.rows;
    if (o.loss == task_loss::cosent) {
        if (layout.columns != 2)
            throw usage_error("starbucks::train::objective", "cosent needs 2 texts per example, got " + std::to_string(layout.columns));
        return losses::cosent(ag::slice(u, 0, 0, r), ag::slice(u, 0, r, 2 * r), layout.scores, static_cast<T>(o.scale));
    }
    if (layout.columns < 2)
        throw usage_error("starbucks::train::objective", "mnrl needs an anchor and a positive per example, got " +
                                                             std::to_string(layout.columns) + " text(s)");
    return losses::mnrl(ag::slice(u, 0, 0, r), ag::slice(u, 0, r, r * layout.columns), static_cast<T>(o.scale));
}

} // namespace detail

/// Layer n's pooled vectors of a batch, (texts, width), computed on first use.
template <class T, class B>
using pooled_layer = std::function<const autograd::var<T, dextents<2>, B>&(std::size_t)>;

template <class T, class B>
matryoshka::multi_target<T, B> objective_pooled(const objective_options& o, const pooled_layer<T, B>& f, std::size_t ran, std::size_t width,
                                                const batch_layout<T>& layout, std::uint64_t step);

/// @brief The loss terms of one batch, from the hidden states of one encoder forward.
///
/// hidden: `hidden_states` as nn::bert_encoder returns them ([0] = embeddings), at least
/// layers_needed(...) + 1 of them; mask: (N, T) with N = rows · columns texts; step: the
/// optimizer step (2dmse's draws). Pooling is the masked mean (METHOD.md §2.1). Term names:
/// `loss_n{n}_d{d}` and `kl_n{n}_d{d}`; for 2dmse `loss_last_d{d}`, `loss_layer{l}_d{d}`, `kl_layer{l}`.
/// @throws usage_error when the hidden states are fewer than the pairs need; shape_error from the losses.
template <class T, class B>
matryoshka::multi_target<T, B> objective(const objective_options& o, const std::vector<autograd::var<T, dextents<3>, B>>& hidden,
                                         const tensor<T, dextents<2>, B>& mask, const batch_layout<T>& layout, std::uint64_t step) {
    if (hidden.empty()) throw usage_error("starbucks::train::objective", "no hidden states");
    if (mask.extent(0) != layout.rows * layout.columns)
        throw shape_error("starbucks::train::objective", "the batch holds " + std::to_string(mask.extent(0)) + " texts, the layout " +
                                                             std::to_string(layout.rows) + " x " + std::to_string(layout.columns));
    std::vector<std::optional<autograd::var<T, dextents<2>, B>>> pooled(hidden.size());
    const pooled_layer<T, B> f = [&](std::size_t n) -> const autograd::var<T, dextents<2>, B>& { // pooled once per layer
        if (!pooled[n]) pooled[n] = nn::mean_pooling(hidden[n], mask);
        return *pooled[n];
    };
    return objective_pooled(o, f, hidden.size() - 1, hidden.back().extent(2), layout, step);
}

/// @brief The loss terms of one batch from its pooled vectors: f(n) is layer n's (N, C) matrix
/// of the N = rows · columns texts (the form data-parallel training calls with vectors gathered
/// from every rank); `ran` layers exist, `width` = C. See objective() for strategies and names.
/// @throws usage_error when fewer layers ran than needed; shape_error from the losses.
template <class T, class B>
matryoshka::multi_target<T, B> objective_pooled(const objective_options& o, const pooled_layer<T, B>& f, std::size_t ran, std::size_t width,
                                                const batch_layout<T>& layout, std::uint64_t step) {
    namespace ag = autograd;
    namespace mt = matryoshka;
    const std::size_t model_layers = o.model_layers ? o.model_layers : ran;
    if (ran < layers_needed(o, model_layers))
        throw usage_error("starbucks::train::objective", "needs " + std::to_string(layers_needed(o, model_layers)) +
                                                             " layers of hidden states, got " + std::to_string(ran));
    mt::multi_target<T, B> out;
    switch (o.method) {
    case strategy::starbucks: {
        const mt::size_pair teacher = o.pairs.largest();
        for (const auto& p : o.pairs) {
            out.add("loss_" + mt::label(p), detail::task(o, ag::prefix(f(p.layers), p.dim), layout));
            if (p == teacher || o.kl_weight == 0) continue;
            out.add("kl_" + mt::label(p),
                    losses::kl_coordinates(ag::prefix(f(teacher.layers), p.dim), ag::prefix(f(p.layers), p.dim), o.detach_teacher),
                    o.kl_weight);
        }
        break;
    }
    case strategy::twodmse: {
        // Matryoshka2dLoss = AdaptiveLayerLoss(MatryoshkaLoss(MNRL, dims, n_dims_per_step=1),
        // n_layers_per_step=1): the last layer at one random dim, one random earlier layer at an
        // independent random dim, and a KL of that layer's full-width vector to the last layer's.
        const twodmse_draw draw = draw_twodmse(o, model_layers, step);
        const std::size_t d1 = draw.last_dim;
        out.add("loss_last_d" + std::to_string(d1), detail::task(o, ag::prefix(f(model_layers), d1), layout));
        if (model_layers < 2) break;
        const std::size_t l = draw.layer, d2 = draw.layer_dim;
        // The paper's run divided the layer loss by (1 + layer index) = l (an operator-precedence
        // slip in AdaptiveLayerLoss, METHOD.md §7.2); the corrected loss weights it 1.
        const double layer_weight = o.twodmse_corrected ? 1.0 : 1.0 / double(l);
        out.add("loss_layer" + std::to_string(l) + "_d" + std::to_string(d2), detail::task(o, ag::prefix(f(l), d2), layout),
                layer_weight);
        const T t = static_cast<T>(o.twodmse_temperature);
        out.add("kl_layer" + std::to_string(l), losses::kl_coordinates(f(model_layers), f(l), o.twodmse_corrected, t),
                o.twodmse_temperature);
        break;
    }
    case strategy::separate: {
        const std::size_t n = o.pairs.largest().layers;
        out.add("loss_" + mt::label({n, width}), detail::task(o, f(n), layout));
        break;
    }
    case strategy::full: out.add("loss_" + mt::label({model_layers, width}), detail::task(o, f(model_layers), layout)); break;
    }
    return out;
}

/// @brief The retrieval loss terms from pooled vectors: queries[n] (B, C) and passages[n]
/// (B·G, C) are the CLS vectors of layer n, n = 0..layers run (the form GradCache calls with
/// cached vectors). See retrieval_objective for the strategies and term names.
/// @throws usage_error when fewer layers than needed are passed; shape_error from the loss.
///
/// Gathered negatives: `p` holds the passages of every rank's queries and `first_query` is the
/// index of this rank's first query among all `total_queries` (0: q's rows); see losses::retrieval_srl.
template <class T, class B>
matryoshka::multi_target<T, B> retrieval_objective_pooled(const objective_options& o, const std::vector<autograd::var<T, dextents<2>, B>>& q,
                                                          const std::vector<autograd::var<T, dextents<2>, B>>& p, std::uint64_t step,
                                                          std::size_t first_query = 0, std::size_t total_queries = 0) {
    namespace ag = autograd;
    namespace mt = matryoshka;
    if (q.empty() || q.size() != p.size()) throw usage_error("starbucks::train::retrieval_objective", "vectors of queries and passages differ in depth");
    const std::size_t ran = q.size() - 1;
    const std::size_t model_layers = o.model_layers ? o.model_layers : ran;
    if (ran < layers_needed(o, model_layers))
        throw usage_error("starbucks::train::retrieval_objective", "needs " + std::to_string(layers_needed(o, model_layers)) +
                                                                       " layers of hidden states, got " + std::to_string(ran));
    const std::size_t width = q.back().extent(1);
    const std::size_t g = o.group_size;
    switch (o.method) {
    case strategy::starbucks: return losses::retrieval_srl(q, p, o.pairs, g, o.kl_weight, first_query);
    case strategy::full: return losses::retrieval_srl(q, p, mt::pair_list({{model_layers, width}}), g, 1.0, first_query);
    case strategy::separate: return losses::retrieval_srl(q, p, mt::pair_list({{o.pairs.largest().layers, width}}), g, 1.0, first_query);
    case strategy::twodmse: {
        const twodmse_draw draw = draw_twodmse(o, model_layers, step);
        const std::size_t d1 = draw.last_dim;
        mt::multi_target<T, B> out;
        const auto ce = [&](std::size_t n, std::size_t d) {
            return losses::retrieval_srl(q, p, mt::pair_list({{n, d}}), g, 1.0, first_query).sum();
        };
        out.add("ce_last_d" + std::to_string(d1), ce(model_layers, d1));
        if (model_layers < 2) return out;
        const std::size_t l = draw.layer, d2 = draw.layer_dim;
        out.add("ce_layer" + std::to_string(l) + "_d" + std::to_string(d2), ce(l, d2), o.twodmse_corrected ? 1.0 : 1.0 / double(l));
        // KL(batchmean) over all B + B·G texts = the row-weighted mean of the two groups' KLs.
        const T t = static_cast<T>(o.twodmse_temperature);
        const double nq = double(total_queries ? total_queries : q[l].extent(0)), np = double(p[l].extent(0));
        out.add("kl_layer" + std::to_string(l) + "_queries", losses::kl_coordinates(q[model_layers], q[l], o.twodmse_corrected, t),
                o.twodmse_temperature * nq / (nq + np));
        out.add("kl_layer" + std::to_string(l) + "_passages", losses::kl_coordinates(p[model_layers], p[l], o.twodmse_corrected, t),
                o.twodmse_temperature * np / (nq + np));
        return out;
    }
    }
    throw internal_error("starbucks::train::retrieval_objective", "unknown strategy");
}

/// @brief The loss terms of one retrieval batch (METHOD.md §2.2), from the hidden states of the
/// B queries and of the B·G passages (group i: the positive of query i, then its negatives).
///
/// CLS vectors, raw dot products, target of query i = passage i·G. `starbucks`: every pair's
/// cross-entropy plus KL to the largest pair's detached scores (weight kl_weight, 1 in the paper);
/// `full`: cross-entropy at full size; `separate`: at (n, width) for the pair's n; `2dmse`: the
/// STS baseline's draws with cross-entropy as its task loss and its coordinate KL (temperature
/// 0.3) over all texts. Term names: `ce_n{n}_d{d}`, `kl_n{n}_d{d}`, `ce_last_d{d}`, `ce_layer{l}_d{d}`, `kl_layer{l}_*`.
/// @throws usage_error when fewer hidden states than needed are passed; shape_error from the loss.
template <class T, class B>
matryoshka::multi_target<T, B> retrieval_objective(const objective_options& o, const std::vector<autograd::var<T, dextents<3>, B>>& queries,
                                                   const std::vector<autograd::var<T, dextents<3>, B>>& passages, std::uint64_t step) {
    if (queries.size() != passages.size()) throw usage_error("starbucks::train::retrieval_objective", "hidden states of queries and passages differ in depth");
    std::vector<autograd::var<T, dextents<2>, B>> q, p;
    for (std::size_t n = 0; n < queries.size(); ++n) {
        q.push_back(autograd::contiguous(nn::cls_pooling(queries[n])));
        p.push_back(autograd::contiguous(nn::cls_pooling(passages[n])));
    }
    return retrieval_objective_pooled(o, q, p, step);
}

} // namespace train
STARBUCKS_NAMESPACE_END
