// SPDX-License-Identifier: Apache-2.0
// losses::angle: AnglE, the CoSENT ranking objective on the angle similarity of sentence pairs.
#pragma once

#include <vector>

#include "../ops/transfer.hpp"
#include "cosent.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace losses {

namespace detail {
/// @brief sentence-transformers' pairwise_angle_sim: |cos(a_i, b_i) + sin_i| where, on the
/// L2-normalised rows x, y split into halves (the second half zero-padded when C is odd),
/// sin_i = sum_k (x_last[k] y_first[k] - x_first[k] y_last[k]). (N, C) and (N, C) give (N).
///
/// |v| is formed as v * sign(v) with sign(v) a constant, so the gradient is sign(v), 0 at 0,
/// as torch.abs has it.
template <class T, class EA, class EB, class B>
auto rowwise_angle(const autograd::var<T, EA, B>& a, const autograd::var<T, EB, B>& b) {
    namespace ag = autograd;
    auto x = ag::l2_normalize(a);
    auto y = ag::l2_normalize(b);
    const std::size_t c = a.extent(1);
    const std::size_t half = (c + 1) / 2; // width of the first half; the second has w = c - half columns,
    const std::size_t w = c - half;       // and the zero pad of an odd C meets the first half's last column
    auto cosines = ag::sum<1>(ag::mul(x, y));
    auto last_first = ag::mul(ag::slice(x, 1, half, c), ag::slice(y, 1, 0, w));
    auto first_last = ag::mul(ag::slice(x, 1, 0, w), ag::slice(y, 1, half, c));
    auto sim = ag::add(cosines, ag::sum<1>(ag::sub(last_first, first_last)));
    const auto v = host_copy(sim.value());
    tensor<T, dextents<1>, backend::host_backend_t<B>> sign(v.extent(0));
    for (std::size_t i = 0; i < v.extent(0); ++i) sign.data()[i] = v.data()[i] > T(0) ? T(1) : v.data()[i] < T(0) ? T(-1) : T(0);
    return ag::mul(sim, ag::constant_input(to<B>(std::move(sign))));
}
} // namespace detail

/// @brief AnglE (Li and Li, 2023) as sentence-transformers' AnglELoss computes it for scored
/// pairs: CoSENT's log(1 + sum over labels[i] < labels[j] of exp(s_i - s_j)) with s_i = scale *
/// pairwise_angle_sim(a_i, b_i) instead of the cosine (see detail::rowwise_angle).
///
/// a, b: (N, C) embeddings, not normalised; labels: one score per pair. Returns a rank-0 var.
/// (ST's conversion of (anchor, positive, negative) tuples into labelled pairs is the
/// caller's.) @throws as cosent, and shape_error for a width below 2.
template <class T, class EA, class EB, class B>
auto angle(const autograd::var<T, EA, B>& a, const autograd::var<T, EB, B>& b, const std::vector<T>& labels, T scale = T(20)) {
    detail::check_scored_pairs("starbucks::losses::angle", a, b, labels);
    if (a.extent(1) < 2) throw shape_error("starbucks::losses::angle", "needs a width of at least 2, got " + to_string(a.dims()));
    return detail::ranking_logsumexp(autograd::scale(detail::rowwise_angle(a, b), scale), labels);
}

} // namespace losses
STARBUCKS_NAMESPACE_END
