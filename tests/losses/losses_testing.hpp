// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the losses tests: the committed sentence-transformers / torch fixture
// (tests/fixtures/losses/losses.json, written by generate.py there) and how to run a loss on it.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testing.hpp"

namespace starbucks::testing {

/// Every case of losses.json.
inline const nlohmann::json& loss_fixture() {
    static const nlohmann::json doc = [] {
        const std::string path = std::string(STARBUCKS_LOSSES_FIXTURES) + "/losses.json";
        std::ifstream in(path);
        REQUIRE_MESSAGE(in.good(), "cannot open " << path);
        return nlohmann::json::parse(in);
    }();
    return doc;
}

/// The cases of one loss (cosent, mnrl, kl_coordinates, kl_scores); never empty.
inline std::vector<nlohmann::json> loss_cases(const std::string& loss) {
    std::vector<nlohmann::json> out;
    for (const auto& c : loss_fixture().at("cases"))
        if (c.at("loss") == loss) out.push_back(c);
    REQUIRE(!out.empty());
    return out;
}

/// A (rows, cols) tensor of T on backend B from a JSON list of rows.
template <class T, class B>
tensor<T, dextents<2>, B> fixture_matrix(const nlohmann::json& rows) {
    const std::size_t n = rows.size(), c = rows.at(0).size();
    tensor<T, dextents<2>, backend::host_backend_t<B>> t(n, c); // filled on the host, then moved to B
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < c; ++j) t.data()[i * c + j] = static_cast<T>(rows.at(i).at(j).get<double>());
    return to<B>(std::move(t));
}

/// The flat row-major values of a JSON list of rows.
inline std::vector<double> fixture_flat(const nlohmann::json& rows) {
    std::vector<double> out;
    for (const auto& r : rows)
        for (const auto& v : r) out.push_back(v.get<double>());
    return out;
}

/// The gradient of a leaf as doubles, zeros when the backward pass never reached it.
template <class V>
std::vector<double> grad_values(const V& v) {
    std::vector<double> out(v.size(), 0.0);
    if (!v.has_grad()) return out;
    const auto g = host_copy(v.grad());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(g.data()[i]);
    return out;
}

/// ||got - want|| / ||want||, or ||got|| when want is all zeros (a detached input).
inline double normwise_error(const std::vector<double>& got, const std::vector<double>& want) {
    REQUIRE(got.size() == want.size());
    double num = 0, den = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += want[i] * want[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

/// |got - want| / |want|, or |got| when want is 0.
inline double value_error(double got, double want) {
    return want != 0 ? std::abs(got - want) / std::abs(want) : std::abs(got);
}

} // namespace starbucks::testing
