// SPDX-License-Identifier: Apache-2.0
// eval::spearman, eval::pearson and eval::average_ranks against scipy.stats on a committed fixture.
#include "testing.hpp"

#include <starbucks/eval/correlation.hpp>

#include <cmath>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_correlation {

using namespace starbucks;

TEST_CASE("eval average_ranks: ties get the mean of the ranks they span, as scipy's rankdata(method='average')") {
    const std::vector<double> v{10, 20, 20, 5, 20, 1};
    const std::vector<double> expected{3, 5, 5, 2, 5, 1};
    CHECK(eval::average_ranks(v) == expected);
    const std::vector<double> pair{7, 7};
    CHECK(eval::average_ranks(pair) == std::vector<double>{1.5, 1.5});
}

TEST_CASE("eval spearman and pearson: match scipy.stats.spearmanr and pearsonr on the committed fixture (ties included)") {
    const std::string path = std::string(STARBUCKS_EVAL_FIXTURES) + "/correlation.json";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot open " << path);
    const auto doc = nlohmann::json::parse(in);
    REQUIRE(doc.at("cases").size() >= 8);
    for (const auto& c : doc.at("cases")) {
        INFO(c.at("name").get<std::string>());
        const auto x = c.at("x").get<std::vector<double>>();
        const auto y = c.at("y").get<std::vector<double>>();
        CHECK(std::abs(eval::spearman(x, y) - c.at("spearman").get<double>()) <= 1e-12);
        CHECK(std::abs(eval::pearson(x, y) - c.at("pearson").get<double>()) <= 1e-12);
    }
}

TEST_CASE("eval spearman and pearson: mismatched lengths, fewer than 2 values, constant and non-finite input throw") {
    const std::vector<double> three{1, 2, 3}, two{1, 2}, one{1}, flat{4, 4, 4}, nan_in{1, std::nan(""), 3};
    CHECK_THROWS_AS(eval::spearman(three, two), shape_error);
    CHECK_THROWS_AS(eval::pearson(three, two), shape_error);
    CHECK_THROWS_AS(eval::spearman(one, one), shape_error);
    CHECK_THROWS_AS(eval::pearson(one, one), shape_error);
    CHECK_THROWS_AS(eval::spearman(three, flat), numeric_error);
    CHECK_THROWS_AS(eval::pearson(flat, three), numeric_error);
    CHECK_THROWS_AS(eval::spearman(three, nan_in), numeric_error);
    CHECK(starbucks::testing::error_message([&] { eval::spearman(three, flat); }).find("y: is constant") != std::string::npos);
    CHECK(starbucks::testing::error_message([&] { eval::pearson(three, two); }).find("lengths differ: 3 vs 2") != std::string::npos);
}

} }  // namespace test_correlation
