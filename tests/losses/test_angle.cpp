// SPDX-License-Identifier: Apache-2.0
// losses::angle: float64 gradcheck, the angle similarity by plain loops, and sentence-transformers' AnglELoss.
#include "testing.hpp"

#include "../autograd/autograd_testing.hpp"
#include "losses_testing.hpp"

#include <starbucks/losses/angle.hpp>

#include <cmath>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_angle {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;

namespace {

using matrix = tensor<double, dextents<2>>;

/// |cos + sin| of row i by plain loops: the halves of the normalised rows, the second half
/// zero-padded to the first's width when C is odd.
double plain_angle(const matrix& a, const matrix& b, std::size_t i) {
    const std::size_t c = a.extent(1), half = (c + 1) / 2;
    double na = 0, nb = 0;
    for (std::size_t k = 0; k < c; ++k) {
        na += a(i, k) * a(i, k);
        nb += b(i, k) * b(i, k);
    }
    na = std::sqrt(na);
    nb = std::sqrt(nb);
    auto x = [&](std::size_t k) { return k < c ? a(i, k) / na : 0.0; };
    auto y = [&](std::size_t k) { return k < c ? b(i, k) / nb : 0.0; };
    double cosine = 0, sine = 0;
    for (std::size_t k = 0; k < c; ++k) cosine += x(k) * y(k);
    for (std::size_t k = 0; k < half; ++k) sine += x(half + k) * y(k) - x(k) * y(half + k);
    return std::abs(cosine + sine);
}

} // namespace

TEST_CASE("losses angle: passes float64 gradcheck for both embeddings, at even and odd widths") {
    const std::vector<double> labels{1.0, 3.0, 1.0, 0.0, 5.0};
    for (std::size_t c : {4u, 7u}) {
        INFO("width " << c);
        auto a = random<double>(dextents<2>(5, c), 401 + c);
        auto b = random<double>(dextents<2>(5, c), 402 + c);
        auto f = [&](const auto& va, const auto& vb) { return losses::angle(va, vb, labels); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a, b), a.size() + b.size());
    }
}

TEST_CASE("losses angle: equals CoSENT's formula on |cos + sin| computed by plain loops") {
    for (std::size_t c : {6u, 5u}) {
        INFO("width " << c);
        auto a = random<double>(dextents<2>(4, c), 411 + c);
        auto b = random<double>(dextents<2>(4, c), 412 + c);
        const std::vector<double> labels{0.5, 2.0, 2.0, 1.0};
        double sum = 1;
        for (std::size_t i = 0; i < 4; ++i)
            for (std::size_t j = 0; j < 4; ++j)
                if (labels[i] < labels[j]) sum += std::exp(20 * (plain_angle(a, b, i) - plain_angle(a, b, j)));
        const double got = losses::angle(ag::constant_input(a), ag::constant_input(b), labels).value()();
        CHECK(got == doctest::Approx(std::log(sum)).epsilon(1e-12));
    }
    auto thin = ag::constant_input(random<double>(dextents<2>(2, 1), 421));
    CHECK_THROWS_AS(losses::angle(thin, thin, {0.0, 1.0}), shape_error);
}

TEST_CASE_TEMPLATE("losses angle: matches sentence-transformers AnglELoss (value and gradients) on the committed fixture", B,
                   STARBUCKS_TEST_BACKENDS) {
    namespace st = starbucks::testing;
    auto run = [](const nlohmann::json& c, auto zero) {
        using T = decltype(zero);
        std::vector<T> labels;
        for (const auto& v : c.at("labels")) labels.push_back(static_cast<T>(v.get<double>()));
        auto a = ag::parameter(st::fixture_matrix<T, B>(c.at("inputs").at("a")));
        auto b = ag::parameter(st::fixture_matrix<T, B>(c.at("inputs").at("b")));
        ag::tape t;
        double value = 0;
        {
            auto guard = t.activate();
            auto loss = losses::angle(a, b, labels, static_cast<T>(c.at("scale").get<double>()));
            value = static_cast<double>(item(loss.value()));
            t.backward({loss});
        }
        const double tol = std::is_same_v<T, double> ? 1e-10 : 1e-5; // float32: the bound
        CHECK(st::value_error(value, c.at("value").get<double>()) <= tol);
        CHECK(st::normwise_error(st::grad_values(a), st::fixture_flat(c.at("grads").at("a"))) <= tol);
        CHECK(st::normwise_error(st::grad_values(b), st::fixture_flat(c.at("grads").at("b"))) <= tol);
    };
    for (const auto& c : st::loss_cases("angle")) {
        INFO(c.at("name").get<std::string>());
        run(c, 0.0);
        run(c, 0.0f);
    }
}

} }  // namespace test_angle
