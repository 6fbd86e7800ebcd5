// SPDX-License-Identifier: Apache-2.0
// losses::kl_coordinates and losses::kl_scores: float64 gradcheck, detaching, and torch's kl_div.
#include "testing.hpp"

#include "../autograd/autograd_testing.hpp"
#include "losses_testing.hpp"

#include <starbucks/losses/kl.hpp>

#include <cmath>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_kl {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;

namespace {

using matrix = tensor<double, dextents<2>>;

/// KL(softmax(p / t) || softmax(q / t)) averaged over rows, by plain loops.
double plain_kl(const matrix& p, const matrix& q, double t) {
    double total = 0;
    for (std::size_t i = 0; i < p.extent(0); ++i) {
        double zp = 0, zq = 0;
        for (std::size_t k = 0; k < p.extent(1); ++k) {
            zp += std::exp(p(i, k) / t);
            zq += std::exp(q(i, k) / t);
        }
        for (std::size_t k = 0; k < p.extent(1); ++k) {
            const double pk = std::exp(p(i, k) / t) / zp, qk = std::exp(q(i, k) / t) / zq;
            total += pk * std::log(pk / qk);
        }
    }
    return total / double(p.extent(0));
}

} // namespace

TEST_CASE("losses kl_coordinates: passes float64 gradcheck for teacher and student, at temperature 1 and 0.3") {
    auto teacher = random<double>(dextents<2>(3, 6), 301, -2.0, 2.0);
    auto student = random<double>(dextents<2>(3, 6), 302, -2.0, 2.0);
    auto f = [](const auto& vt, const auto& vs) { return losses::kl_coordinates(vt, vs); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, teacher, student), teacher.size() + student.size());
    auto g = [](const auto& vt, const auto& vs) { return losses::kl_coordinates(vt, vs, false, 0.3); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(g, teacher, student), teacher.size() + student.size());
}

TEST_CASE("losses kl_coordinates: a detached teacher gets no gradient and the student's still passes gradcheck") {
    auto teacher = random<double>(dextents<2>(4, 5), 311, -2.0, 2.0);
    auto student = random<double>(dextents<2>(4, 5), 312, -2.0, 2.0);
    // gradcheck compares the teacher's analytic gradient (none) with its numeric one, which is
    // not zero, so only the student is a leaf here.
    auto f = [&](const auto& vs) { return losses::kl_coordinates(ag::constant_input(teacher), vs, true, 0.3); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, student), student.size());
    ag::tape t;
    auto vt = ag::parameter(teacher);
    auto vs = ag::parameter(student);
    {
        auto guard = t.activate();
        t.backward({losses::kl_coordinates(vt, vs, true)});
    }
    CHECK_FALSE(vt.has_grad());
    CHECK(vs.has_grad());
}

TEST_CASE("losses kl_coordinates: equals KL(softmax(teacher / t) || softmax(student / t)) by plain loops, zero for equal inputs") {
    auto teacher = random<double>(dextents<2>(5, 7), 321, -3.0, 3.0);
    auto student = random<double>(dextents<2>(5, 7), 322, -3.0, 3.0);
    const auto vt = ag::constant_input(teacher);
    const auto vs = ag::constant_input(student);
    CHECK(losses::kl_coordinates(vt, vs).value()() == doctest::Approx(plain_kl(teacher, student, 1)).epsilon(1e-12));
    CHECK(losses::kl_coordinates(vt, vs, false, 0.3).value()() == doctest::Approx(plain_kl(teacher, student, 0.3)).epsilon(1e-12));
    // KL is not symmetric: swapping the roles changes the value.
    CHECK(losses::kl_coordinates(vs, vt).value()() != doctest::Approx(plain_kl(teacher, student, 1)));
    CHECK(std::abs(losses::kl_coordinates(vt, vt).value()()) < 1e-15);
    CHECK_THROWS_AS(losses::kl_coordinates(vt, ag::constant_input(random<double>(dextents<2>(5, 6), 323))), shape_error);
}

TEST_CASE("losses kl_scores: the student passes gradcheck and the teacher is always detached") {
    auto teacher = random<double>(dextents<2>(3, 8), 331, -5.0, 5.0);
    auto student = random<double>(dextents<2>(3, 8), 332, -5.0, 5.0);
    auto f = [&](const auto& vs) { return losses::kl_scores(ag::constant_input(teacher), vs); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, student), student.size());
    CHECK(losses::kl_scores(ag::constant_input(teacher), ag::constant_input(student)).value()() ==
          doctest::Approx(plain_kl(teacher, student, 1)).epsilon(1e-12));
    ag::tape t;
    auto vt = ag::parameter(teacher);
    auto vs = ag::parameter(student);
    {
        auto guard = t.activate();
        t.backward({losses::kl_scores(vt, vs)});
    }
    CHECK_FALSE(vt.has_grad());
    CHECK(vs.has_grad());
}

TEST_CASE_TEMPLATE("losses kl: kl_coordinates and kl_scores match torch.nn.functional.kl_div (value and gradients) on the committed fixture",
                   B, STARBUCKS_TEST_BACKENDS) {
    namespace st = starbucks::testing;
    auto run = [](const nlohmann::json& c, auto zero) {
        using T = decltype(zero);
        auto teacher = ag::parameter(st::fixture_matrix<T, B>(c.at("inputs").at("teacher")));
        auto student = ag::parameter(st::fixture_matrix<T, B>(c.at("inputs").at("student")));
        ag::tape t;
        double value = 0;
        {
            auto guard = t.activate();
            auto loss = c.at("loss") == "kl_scores"
                            ? losses::kl_scores(teacher, student)
                            : losses::kl_coordinates(teacher, student, c.at("detach_teacher").get<bool>(),
                                                     static_cast<T>(c.at("temperature").get<double>()));
            value = static_cast<double>(item(loss.value()));
            t.backward({loss});
        }
        const double tol = std::is_same_v<T, double> ? 1e-10 : 1e-5; // float32: the bound
        CHECK(st::value_error(value, c.at("value").get<double>()) <= tol);
        CHECK(st::normwise_error(st::grad_values(teacher), st::fixture_flat(c.at("grads").at("teacher"))) <= tol);
        CHECK(st::normwise_error(st::grad_values(student), st::fixture_flat(c.at("grads").at("student"))) <= tol);
    };
    for (const std::string loss : {"kl_coordinates", "kl_scores"}) {
        for (const auto& c : st::loss_cases(loss)) {
            INFO(loss << ": " << c.at("name").get<std::string>());
            run(c, 0.0);
            run(c, 0.0f);
        }
    }
}

} }  // namespace test_kl
