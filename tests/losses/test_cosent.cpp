// SPDX-License-Identifier: Apache-2.0
// losses::cosent: float64 gradcheck, hand-computed values, and sentence-transformers' CoSENTLoss.
#include "testing.hpp"

#include "../autograd/autograd_testing.hpp"
#include "losses_testing.hpp"

#include <starbucks/losses/cosent.hpp>

#include <cmath>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_cosent {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;

namespace {

using matrix = tensor<double, dextents<2>>;

/// cos(a_i, b_i) by plain loops, independent of the autograd.
double plain_cosine(const matrix& a, const matrix& b, std::size_t i) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t k = 0; k < a.extent(1); ++k) {
        ab += a(i, k) * b(i, k);
        aa += a(i, k) * a(i, k);
        bb += b(i, k) * b(i, k);
    }
    return ab / (std::sqrt(aa) * std::sqrt(bb));
}

/// The CoSENT formula of the paper by plain loops.
double plain_cosent(const matrix& a, const matrix& b, const std::vector<double>& labels, double scale) {
    double sum = 1;
    for (std::size_t i = 0; i < labels.size(); ++i)
        for (std::size_t j = 0; j < labels.size(); ++j)
            if (labels[i] < labels[j]) sum += std::exp(scale * (plain_cosine(a, b, i) - plain_cosine(a, b, j)));
    return std::log(sum);
}

double cosent_value(const matrix& a, const matrix& b, const std::vector<double>& labels, double scale = 20) {
    return losses::cosent(ag::constant_input(a), ag::constant_input(b), labels, scale).value()();
}

} // namespace

TEST_CASE("losses cosent: passes float64 gradcheck for both embeddings, with tied labels") {
    auto a = random<double>(dextents<2>(6, 5), 101);
    auto b = random<double>(dextents<2>(6, 5), 102);
    const std::vector<double> labels{1.0, 3.0, 1.0, 0.0, 5.0, 3.0};
    SUBCASE("scale 20") {
        auto f = [&](const auto& va, const auto& vb) { return losses::cosent(va, vb, labels); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a, b), a.size() + b.size());
    }
    SUBCASE("scale 3") {
        auto f = [&](const auto& va, const auto& vb) { return losses::cosent(va, vb, labels, 3.0); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a, b), a.size() + b.size());
    }
}

TEST_CASE("losses cosent: equals the formula log(1 + sum exp(s_i - s_j)) computed by plain loops") {
    auto a = random<double>(dextents<2>(5, 7), 111);
    auto b = random<double>(dextents<2>(5, 7), 112);
    const std::vector<double> labels{0.2, 4.0, 2.5, 2.5, 1.0};
    CHECK(cosent_value(a, b, labels) == doctest::Approx(plain_cosent(a, b, labels, 20)).epsilon(1e-12));
    CHECK(cosent_value(a, b, labels, 0.5) == doctest::Approx(plain_cosent(a, b, labels, 0.5)).epsilon(1e-12));
    // Two pairs: exactly log(1 + exp(20 (s_0 - s_1))).
    auto a2 = random<double>(dextents<2>(2, 3), 113);
    auto b2 = random<double>(dextents<2>(2, 3), 114);
    const double expected = std::log1p(std::exp(20 * (plain_cosine(a2, b2, 0) - plain_cosine(a2, b2, 1))));
    CHECK(cosent_value(a2, b2, {0.0, 1.0}) == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("losses cosent: only the order of the labels matters, and equal labels give zero loss and gradient") {
    auto a = random<double>(dextents<2>(4, 6), 121);
    auto b = random<double>(dextents<2>(4, 6), 122);
    CHECK(cosent_value(a, b, {0.0, 1.0, 2.0, 3.0}) == doctest::Approx(cosent_value(a, b, {-5.0, 0.5, 0.7, 100.0})).epsilon(1e-14));
    // Permuting the labels changes the ranked pairs, so the loss changes.
    CHECK(cosent_value(a, b, {0.0, 1.0, 2.0, 3.0}) != doctest::Approx(cosent_value(a, b, {3.0, 2.0, 1.0, 0.0})));

    ag::tape t;
    auto va = ag::parameter(a);
    auto vb = ag::parameter(b);
    {
        auto guard = t.activate();
        auto loss = losses::cosent(va, vb, std::vector<double>(4, 2.5));
        CHECK(loss.value()() == 0.0);
        t.backward({loss});
    }
    for (double g : starbucks::testing::grad_values(va)) CHECK(g == 0.0);
    for (double g : starbucks::testing::grad_values(vb)) CHECK(g == 0.0);
}

TEST_CASE("losses cosent: mismatched shapes, a wrong label count and a NaN label are errors") {
    auto a = ag::constant_input(random<double>(dextents<2>(3, 4), 131));
    auto b = ag::constant_input(random<double>(dextents<2>(3, 4), 132));
    auto c = ag::constant_input(random<double>(dextents<2>(3, 5), 133));
    CHECK_THROWS_AS(losses::cosent(a, c, {0.0, 1.0, 2.0}), shape_error);
    CHECK_THROWS_AS(losses::cosent(a, b, {0.0, 1.0}), shape_error);
    CHECK_THROWS_AS(losses::cosent(a, b, {0.0, std::nan(""), 2.0}), numeric_error);
    CHECK(starbucks::testing::error_message([&] { losses::cosent(a, b, {0.0, 1.0}); }).find("2 labels for 3 pairs") != std::string::npos);
}

TEST_CASE_TEMPLATE("losses cosent: matches sentence-transformers CoSENTLoss (value and gradients) on the committed fixture", B,
                   STARBUCKS_TEST_BACKENDS) {
    namespace st = starbucks::testing;
    auto run = [](const nlohmann::json& c, auto zero) {
        using T = decltype(zero);
        const std::vector<T> labels = [&] {
            std::vector<T> l;
            for (const auto& v : c.at("labels")) l.push_back(static_cast<T>(v.get<double>()));
            return l;
        }();
        auto a = ag::parameter(st::fixture_matrix<T, B>(c.at("inputs").at("a")));
        auto b = ag::parameter(st::fixture_matrix<T, B>(c.at("inputs").at("b")));
        ag::tape t;
        double value = 0;
        {
            auto guard = t.activate();
            auto loss = losses::cosent(a, b, labels, static_cast<T>(c.at("scale").get<double>()));
            value = static_cast<double>(item(loss.value()));
            t.backward({loss});
        }
        // float64: rounding only; float32: the 1e-5 relative bound.
        const double tol = std::is_same_v<T, double> ? 1e-10 : 1e-5;
        CHECK(st::value_error(value, c.at("value").get<double>()) <= tol);
        CHECK(st::normwise_error(st::grad_values(a), st::fixture_flat(c.at("grads").at("a"))) <= tol);
        CHECK(st::normwise_error(st::grad_values(b), st::fixture_flat(c.at("grads").at("b"))) <= tol);
    };
    for (const auto& c : st::loss_cases("cosent")) {
        INFO(c.at("name").get<std::string>());
        run(c, 0.0);
        run(c, 0.0f);
    }
}

} }  // namespace test_cosent
