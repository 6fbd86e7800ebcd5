// SPDX-License-Identifier: Apache-2.0
// losses::cosent: the CoSENT ranking loss over the cosine similarities of scored sentence pairs.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "../autograd/functions.hpp"
#include "../core/error.hpp"
#include "../ops/transfer.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace losses {

namespace detail {
/// cos(a_i, b_i) for every row i: (N, C) and (N, C) give (N). Rows are divided by
/// max(||row||, 1e-12), as torch.nn.functional.normalize does.
template <class T, class EA, class EB, class B>
auto rowwise_cosine(const autograd::var<T, EA, B>& a, const autograd::var<T, EB, B>& b) {
    return autograd::sum<1>(autograd::mul(autograd::l2_normalize(a), autograd::l2_normalize(b)));
}

/// The checks every pair loss makes: rank 2, same rows and width, one finite label per row.
template <class T, class EA, class EB, class B>
void check_scored_pairs(const char* where, const autograd::var<T, EA, B>& a, const autograd::var<T, EB, B>& b,
                        const std::vector<T>& labels) {
    static_assert(EA::rank() == 2 && EB::rank() == 2, "starbucks::losses: embeddings need rank 2 (rows, width)");
    if (a.dims() != b.dims())
        throw shape_error(where, "embeddings differ in shape: " + to_string(a.dims()) + " vs " + to_string(b.dims()));
    if (a.extent(0) == 0 || a.extent(1) == 0) throw shape_error(where, "empty embeddings " + to_string(a.dims()));
    if (labels.size() != a.extent(0))
        throw shape_error(where, std::to_string(labels.size()) + " labels for " + std::to_string(a.extent(0)) + " pairs");
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (!std::isfinite(labels[i])) throw numeric_error(where, "label " + std::to_string(i), "is not finite");
}

/// @brief log(1 + sum over (i, j) with labels[i] < labels[j] of exp(s_i - s_j)) for the scores
/// s (N): the ranking part shared by CoSENT and AnglE.
///
/// Formed as logsumexp over [0, S + M] where S(i, j) = s_i - s_j (a broadcast difference) and
/// M(i, j) is 0 for ranked pairs and -1e12 elsewhere, which drops out exactly (exp underflows to
/// 0 and so does its gradient): O(N^2) memory, the formulation of sentence-transformers before
/// its sort-based rewrite, which computes the same sum.
template <class T, class E, class B>
auto ranking_logsumexp(const autograd::var<T, E, B>& s, const std::vector<T>& labels) {
    namespace ag = autograd;
    const std::size_t n = s.extent(0);
    tensor<T, dextents<2>, backend::host_backend_t<B>> mask(n, n);
    T* m = mask.data();
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) m[i * n + j] = labels[i] < labels[j] ? T(0) : T(-1e12);
    auto diff = ag::sub(ag::reshape(s, dextents<2>(n, 1)), ag::reshape(s, dextents<2>(1, n))); // (N, N): s_i - s_j
    auto masked = ag::add(diff, ag::constant_input(to<B>(std::move(mask))));
    auto row = ag::reshape(masked, dextents<2>(1, n * n));
    auto scores = ag::concat<1>(ag::constant_input(tensor<T, dextents<2>, B>(1, 1)), row); // (1, 1 + N^2), a leading 0
    return ag::sum(ag::logsumexp(scores));
}
} // namespace detail

/// @brief CoSENT (Su, 2022) as sentence-transformers' CoSENTLoss computes it: with s_i =
/// scale * cos(a_i, b_i), loss = log(1 + sum over pairs (i, j) with labels[i] < labels[j] of
/// exp(s_i - s_j)).
///
/// a, b: (N, C) embeddings of the two texts of each pair, not normalised. labels: one score per
/// pair (only their order matters; ties add no term). Returns a rank-0 var; with every label
/// equal the loss is log(1) = 0 and the gradient is zero.
/// @throws shape_error for mismatched or empty embeddings or a label count other than N;
/// numeric_error for a non-finite label.
template <class T, class EA, class EB, class B>
auto cosent(const autograd::var<T, EA, B>& a, const autograd::var<T, EB, B>& b, const std::vector<T>& labels,
            T scale = T(20)) {
    detail::check_scored_pairs("starbucks::losses::cosent", a, b, labels);
    return detail::ranking_logsumexp(autograd::scale(detail::rowwise_cosine(a, b), scale), labels);
}

} // namespace losses
STARBUCKS_NAMESPACE_END
