// SPDX-License-Identifier: Apache-2.0
// losses::mnrl: MultipleNegativesRankingLoss, in-batch negatives plus optional hard negatives.
#pragma once

#include <cstdint>
#include <string>

#include "../autograd/functions.hpp"
#include "../core/error.hpp"
#include "../ops/transfer.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace losses {

/// @brief MultipleNegativesRankingLoss as sentence-transformers computes it by default
/// (directions = query_to_doc only): cross-entropy of scale * cos(anchor_i, candidate_j) over
/// every candidate j, the target of anchor i being candidate i, averaged over the anchors.
///
/// anchors: (N, C). candidates: (k N, C): the N positives (row i belongs to anchor i), then any
/// number of hard-negative blocks of N rows each (ST's columns concatenated: positives,
/// negative_1, ...). Every other row serves as a negative for every anchor. Returns a rank-0 var.
/// @throws shape_error when the widths differ, N is 0, or the candidate rows are not a
/// positive multiple of N.
template <class T, class EA, class EC, class B>
auto mnrl(const autograd::var<T, EA, B>& anchors, const autograd::var<T, EC, B>& candidates, T scale = T(20)) {
    static_assert(EA::rank() == 2 && EC::rank() == 2, "starbucks::losses::mnrl: embeddings need rank 2 (rows, width)");
    constexpr const char* where = "starbucks::losses::mnrl";
    const std::size_t n = anchors.extent(0);
    if (n == 0) throw shape_error(where, "no anchors");
    if (anchors.extent(1) != candidates.extent(1))
        throw shape_error(where, "widths differ: anchors " + to_string(anchors.dims()) + " vs candidates " + to_string(candidates.dims()));
    if (candidates.extent(0) < n || candidates.extent(0) % n != 0)
        throw shape_error(where, "candidates " + to_string(candidates.dims()) + " are not k blocks of " + std::to_string(n) +
                                     " rows (positives, then hard negatives)");
    tensor<std::int64_t, dextents<1>, backend::host_backend_t<B>> targets(n);
    for (std::size_t i = 0; i < n; ++i) targets.data()[i] = static_cast<std::int64_t>(i);
    auto logits = autograd::scale(autograd::cosine_similarity(anchors, candidates), scale); // (N, k N)
    return autograd::cross_entropy(logits, to<B>(std::move(targets)));
}

} // namespace losses
STARBUCKS_NAMESPACE_END
