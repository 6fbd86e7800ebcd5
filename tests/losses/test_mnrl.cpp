// SPDX-License-Identifier: Apache-2.0
// losses::mnrl: float64 gradcheck, a hand-computed value, and sentence-transformers'
// MultipleNegativesRankingLoss.
#include "testing.hpp"

#include "../autograd/autograd_testing.hpp"
#include "losses_testing.hpp"

#include <starbucks/losses/mnrl.hpp>

#include <cmath>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_mnrl {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;

namespace {

using matrix = tensor<double, dextents<2>>;

double plain_cosine(const matrix& a, std::size_t i, const matrix& b, std::size_t j) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t k = 0; k < a.extent(1); ++k) {
        ab += a(i, k) * b(j, k);
        aa += a(i, k) * a(i, k);
        bb += b(j, k) * b(j, k);
    }
    return ab / (std::sqrt(aa) * std::sqrt(bb));
}

} // namespace

TEST_CASE("losses mnrl: passes float64 gradcheck for anchors and candidates, with and without hard negatives") {
    auto anchors = random<double>(dextents<2>(4, 5), 201);
    SUBCASE("positives only") {
        auto candidates = random<double>(dextents<2>(4, 5), 202);
        auto f = [](const auto& va, const auto& vc) { return losses::mnrl(va, vc); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, anchors, candidates), anchors.size() + candidates.size());
    }
    SUBCASE("two hard-negative blocks, scale 7") {
        auto candidates = random<double>(dextents<2>(12, 5), 203);
        auto f = [](const auto& va, const auto& vc) { return losses::mnrl(va, vc, 7.0); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, anchors, candidates), anchors.size() + candidates.size());
    }
}

TEST_CASE("losses mnrl: equals the mean over anchors of -log softmax(20 cos) at the anchor's own positive") {
    auto anchors = random<double>(dextents<2>(3, 4), 211);
    auto candidates = random<double>(dextents<2>(6, 4), 212); // positives, then one hard negative each
    double expected = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        double z = 0;
        for (std::size_t j = 0; j < 6; ++j) z += std::exp(20 * plain_cosine(anchors, i, candidates, j));
        expected += std::log(z) - 20 * plain_cosine(anchors, i, candidates, i);
    }
    expected /= 3;
    const double got = losses::mnrl(ag::constant_input(anchors), ag::constant_input(candidates)).value()();
    CHECK(got == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("losses mnrl: widths that differ and candidate rows that are not k blocks of N are shape errors") {
    auto anchors = ag::constant_input(random<double>(dextents<2>(3, 4), 221));
    CHECK_THROWS_AS(losses::mnrl(anchors, ag::constant_input(random<double>(dextents<2>(3, 5), 222))), shape_error);
    CHECK_THROWS_AS(losses::mnrl(anchors, ag::constant_input(random<double>(dextents<2>(4, 4), 223))), shape_error);
    CHECK_THROWS_AS(losses::mnrl(anchors, ag::constant_input(random<double>(dextents<2>(2, 4), 224))), shape_error);
    auto none = ag::constant_input(tensor<double, dextents<2>>(0, 4));
    CHECK_THROWS_AS(losses::mnrl(none, none), shape_error);
}

TEST_CASE_TEMPLATE("losses mnrl: matches sentence-transformers MultipleNegativesRankingLoss (value and gradients) on the committed fixture",
                   B, STARBUCKS_TEST_BACKENDS) {
    namespace st = starbucks::testing;
    auto run = [](const nlohmann::json& c, auto zero) {
        using T = decltype(zero);
        auto anchors = ag::parameter(st::fixture_matrix<T, B>(c.at("inputs").at("anchors")));
        auto candidates = ag::parameter(st::fixture_matrix<T, B>(c.at("inputs").at("candidates")));
        ag::tape t;
        double value = 0;
        {
            auto guard = t.activate();
            auto loss = losses::mnrl(anchors, candidates, static_cast<T>(c.at("scale").get<double>()));
            value = static_cast<double>(item(loss.value()));
            t.backward({loss});
        }
        const double tol = std::is_same_v<T, double> ? 1e-10 : 1e-5; // float32: the bound
        CHECK(st::value_error(value, c.at("value").get<double>()) <= tol);
        CHECK(st::normwise_error(st::grad_values(anchors), st::fixture_flat(c.at("grads").at("anchors"))) <= tol);
        CHECK(st::normwise_error(st::grad_values(candidates), st::fixture_flat(c.at("grads").at("candidates"))) <= tol);
    };
    for (const auto& c : st::loss_cases("mnrl")) {
        INFO(c.at("name").get<std::string>());
        run(c, 0.0);
        run(c, 0.0f);
    }
}

} }  // namespace test_mnrl
