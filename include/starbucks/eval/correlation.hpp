// SPDX-License-Identifier: Apache-2.0
// eval::pearson and eval::spearman: the correlation coefficients of the STS protocol.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace eval {

namespace detail {
/// The checks both coefficients make. scipy differs per case: a length mismatch raises in
/// both; fewer than 2 values raises in pearsonr but gives nan in spearmanr; constant input
/// gives nan with a ConstantInputWarning. Here every such case throws, so a nan never reaches
/// a report: shape_error for the first two, numeric_error for constant or non-finite input.
inline void check_correlation_input(const char* where, std::span<const double> x, std::span<const double> y) {
    if (x.size() != y.size())
        throw shape_error(where, "lengths differ: " + std::to_string(x.size()) + " vs " + std::to_string(y.size()));
    if (x.size() < 2) throw shape_error(where, "needs at least 2 values, got " + std::to_string(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i)
        if (!std::isfinite(x[i]) || !std::isfinite(y[i]))
            throw numeric_error(where, "value " + std::to_string(i), "is not finite");
    auto constant = [](std::span<const double> v) { return std::all_of(v.begin(), v.end(), [&](double e) { return e == v[0]; }); };
    if (constant(x) || constant(y))
        throw numeric_error(where, std::string(constant(x) ? "x" : "y"), "is constant: the correlation is undefined");
}

/// Pearson's r of checked, non-constant input: centred sums in one pass after the means.
inline double pearson_unchecked(std::span<const double> x, std::span<const double> y) {
    const double n = static_cast<double>(x.size());
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
    const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    const double r = sxy / (std::sqrt(sxx) * std::sqrt(syy));
    return std::clamp(r, -1.0, 1.0);
}
} // namespace detail

/// @brief 1-based ranks of v, ties given the average of the ranks they span (scipy's
/// rankdata(method="average")): ranks({10, 20, 20, 5}) = {2, 3.5, 3.5, 1}.
inline std::vector<double> average_ranks(std::span<const double> v) {
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> ranks(v.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i + 1;
        while (j < order.size() && v[order[j]] == v[order[i]]) ++j;
        const double rank = (static_cast<double>(i) + static_cast<double>(j) + 1.0) / 2.0; // mean of i+1 .. j
        for (std::size_t k = i; k < j; ++k) ranks[order[k]] = rank;
        i = j;
    }
    return ranks;
}

/// @brief Pearson's correlation coefficient of x and y (scipy.stats.pearsonr's statistic).
/// @throws shape_error when the lengths differ or fewer than 2 values are given;
/// numeric_error for a non-finite value or a constant input (scipy: nan with a warning).
inline double pearson(std::span<const double> x, std::span<const double> y) {
    detail::check_correlation_input("starbucks::eval::pearson", x, y);
    return detail::pearson_unchecked(x, y);
}

/// @brief Spearman's rank correlation: Pearson's r of the average ranks (ties averaged), as
/// scipy.stats.spearmanr computes it. The STS protocol reports 100 x this of (cosine, gold).
/// @throws as pearson; constant input includes input whose values are all tied.
inline double spearman(std::span<const double> x, std::span<const double> y) {
    detail::check_correlation_input("starbucks::eval::spearman", x, y);
    const auto rx = average_ranks(x);
    const auto ry = average_ranks(y);
    return detail::pearson_unchecked(rx, ry);
}

} // namespace eval
STARBUCKS_NAMESPACE_END
