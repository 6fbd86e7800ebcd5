// SPDX-License-Identifier: Apache-2.0
// losses::retrieval_srl: Starbucks SRL for dense retrieval (METHOD.md §2.2) — per pair (n, d),
// cross-entropy of raw dot-product scores of every query against all B·G passages, plus the KL
// from the full model's detached scores, summed over the pairs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../autograd/functions.hpp"
#include "../core/error.hpp"
#include "../matryoshka/multi_target.hpp"
#include "../matryoshka/pairs.hpp"
#include "../ops/transfer.hpp"
#include "kl.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace losses {

/// @brief The score matrices s_{n,d} = q_n[:, :d] · p_n[:, :d]ᵀ of every pair, without a
/// [pairs × B × B·G × width] tensor: per layer, the dims of its pairs in increasing order, each
/// score the previous one plus the product over the next block of coordinates. The result is
/// in the order of `sizes` (any sizes: several dims of one layer share their blocks).
///
/// queries[n]: (B, C) and passages[n]: (P, C), the pooled vectors of layer n; only the layers the
/// pairs name are read. @throws shape_error for a missing layer, mismatched widths, or a dim beyond them.
template <class T, class B>
std::vector<autograd::var<T, dextents<2>, B>> prefix_scores(const std::vector<autograd::var<T, dextents<2>, B>>& queries,
                                                            const std::vector<autograd::var<T, dextents<2>, B>>& passages,
                                                            const std::vector<matryoshka::size_pair>& pairs) {
    namespace ag = autograd;
    constexpr const char* where = "starbucks::losses::prefix_scores";
    std::map<std::size_t, std::map<std::size_t, std::size_t>> dims; // layer → dim → first pair index
    for (std::size_t k = 0; k < pairs.size(); ++k) {
        const auto p = pairs[k];
        if (p.layers >= queries.size() || p.layers >= passages.size())
            throw shape_error(where, "pair " + matryoshka::to_string(p) + " needs layer " + std::to_string(p.layers) + "; got " +
                                         std::to_string(std::min(queries.size(), passages.size())) + " layers of vectors");
        const auto& q = queries[p.layers];
        const auto& s = passages[p.layers];
        if (q.extent(1) != s.extent(1) || p.dim > q.extent(1) || p.dim == 0)
            throw shape_error(where, "pair " + matryoshka::to_string(p) + " on queries " + to_string(q.dims()) + " and passages " + to_string(s.dims()));
        dims[p.layers].emplace(p.dim, k);
    }
    std::vector<std::optional<ag::var<T, dextents<2>, B>>> by_pair(pairs.size());
    for (const auto& [n, ds] : dims) {
        std::optional<ag::var<T, dextents<2>, B>> running;
        std::size_t from = 0;
        for (const auto& [d, k] : ds) {
            auto block = ag::matmul_nt(ag::slice(queries[n], 1, from, d), ag::slice(passages[n], 1, from, d));
            running = running ? ag::add(*running, block) : block;
            by_pair[k] = running;
            from = d;
        }
    }
    std::vector<ag::var<T, dextents<2>, B>> out;
    for (std::size_t k = 0; k < pairs.size(); ++k) {
        const auto p = pairs[k];
        out.push_back(*by_pair[dims[p.layers][p.dim]]); // a repeated pair shares its first copy's scores
    }
    return out;
}

/// @brief The retrieval SRL loss of one batch, as named terms: `ce_n{n}_d{d}` for every pair and
/// `kl_n{n}_d{d}` for every pair but the largest (weight `kl_weight`, 1 in the paper).
///
/// queries[n]: (B, C), the CLS vectors of layer n of the B queries; passages[n]: (B·G, C), the
/// passages in groups of G, group i = (positive of query i, its G−1 hard negatives). Every query is
/// scored against all B·G passages by raw dot product (τ = 1); its target is passage i·G.
/// KL(softmax(s_largest.detach()) ‖ softmax(s_{n,d})) is averaged over the query rows.
/// Gathered negatives (data parallelism): the passages of every rank's queries, and
/// `first_query` the index of this rank's first query among them — query i's target is then
/// passage (first_query + i)·G, and the passages may be more than B·G.
/// @throws shape_error when the passages are not G per query or as prefix_scores.
template <class T, class B>
matryoshka::multi_target<T, B> retrieval_srl(const std::vector<autograd::var<T, dextents<2>, B>>& queries,
                                             const std::vector<autograd::var<T, dextents<2>, B>>& passages, const matryoshka::pair_list& pairs,
                                             std::size_t group_size, double kl_weight = 1.0, std::size_t first_query = 0) {
    constexpr const char* where = "starbucks::losses::retrieval_srl";
    if (pairs.size() == 0) throw shape_error(where, "no pairs");
    const auto top = pairs.largest();
    if (top.layers >= queries.size() || top.layers >= passages.size()) throw shape_error(where, "fewer layers of vectors than the pairs need");
    const std::size_t b = queries[top.layers].extent(0);
    const std::size_t rows = passages[top.layers].extent(0);
    const bool gathered = first_query > 0 || rows != b * group_size;
    if (group_size == 0 || b == 0 || rows % group_size != 0 || rows < (first_query + b) * group_size)
        throw shape_error(where, std::to_string(rows) + " passages for " + std::to_string(b) + " queries in groups of " + std::to_string(group_size) +
                                     (gathered ? " (this rank's queries from " + std::to_string(first_query) + ")" : std::string()));
    tensor<std::int64_t, dextents<1>, backend::host_backend_t<B>> host_targets(b);
    for (std::size_t i = 0; i < b; ++i) host_targets.data()[i] = static_cast<std::int64_t>((first_query + i) * group_size);
    const auto targets = to<B>(std::move(host_targets));
    const auto scores = prefix_scores(queries, passages, pairs.values());
    std::size_t teacher = 0;
    for (std::size_t k = 0; k < pairs.size(); ++k)
        if (pairs[k] == top) teacher = k;
    matryoshka::multi_target<T, B> out;
    for (std::size_t k = 0; k < pairs.size(); ++k) {
        out.add("ce_" + matryoshka::label(pairs[k]), autograd::cross_entropy(scores[k], targets));
        if (k != teacher && kl_weight != 0) out.add("kl_" + matryoshka::label(pairs[k]), kl_scores(scores[teacher], scores[k]), kl_weight);
    }
    return out;
}

} // namespace losses
STARBUCKS_NAMESPACE_END
