// SPDX-License-Identifier: Apache-2.0
// autograd::gradcheck itself: it passes correct gradients, fails missing ones and says where.
#include "testing.hpp"

#include "autograd_testing.hpp"

#include <cstring>
#include <string>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_gradcheck {

using namespace starbucks;
using starbucks::testing::random;
using starbucks::testing::weighted_sum;
namespace ag = starbucks::autograd;

namespace {

/// f(a, b) = sum(tanh(a)) + sum(b * detach(b)): the tape sees d/db = b, the numbers see 2 b.
/// Element 2 of b is the largest, so it has the worst error.
tensor<double, extents<4>> detached_input() {
    tensor<double, extents<4>> b;
    b(0) = 0.1;
    b(1) = -0.2;
    b(2) = 3.0;
    b(3) = 0.05;
    return b;
}

auto half_detached = [](const auto& a, const auto& b) { return ag::add(ag::sum(ag::tanh(a)), ag::sum(ag::mul(b, ag::detach(b)))); };

} // namespace

TEST_CASE("gradcheck: passes a correct gradient and counts every element of every input") {
    auto a = random<double>(extents<3, 7>{}, 400);
    auto b = random<double>(extents<5>{}, 401);
    // b (5) broadcasts over the rows of the first five columns of a.
    auto f = [](const auto& va, const auto& vb) { return weighted_sum(ag::tanh(ag::mul(ag::prefix<5>(va), vb)), 402); };
    const auto r = ag::gradcheck(f, a, b);
    STARBUCKS_CHECK_GRADCHECK(r, 26);
    CHECK(static_cast<bool>(r));
    CHECK(r.message.empty());
    CHECK(r.max_abs_error < 1e-5);
}

TEST_CASE("gradcheck: fails when the tape misses a path, naming the input and the worst element") {
    auto a = random<double>(extents<3>{}, 403);
    auto b = detached_input();
    const auto r = ag::gradcheck(half_detached, a, b);
    CHECK_FALSE(r.ok);
    CHECK_FALSE(static_cast<bool>(r));
    CHECK(r.checked == 7);
    INFO(r.message);
    const std::string head = "input 1, element 2: analytic 3 vs numeric ";
    REQUIRE(r.message.rfind(head, 0) == 0);
    CHECK(std::stod(r.message.substr(head.size())) == doctest::Approx(6.0).epsilon(1e-6));
    CHECK(r.max_abs_error == doctest::Approx(3.0).epsilon(1e-6));
}

TEST_CASE("gradcheck: an input the tape never reaches counts as analytic zero and fails") {
    auto a = random<double>(extents<3>{}, 404);
    auto b = random<double>(extents<2, 2>{}, 405, 0.5, 1.0);
    // b only enters through detach: the leaf gets no gradient at all.
    auto f = [](const auto& va, const auto& vb) { return ag::add(ag::sum(ag::square(va)), ag::sum(ag::exp(ag::detach(vb)))); };
    const auto r = ag::gradcheck(f, a, b);
    CHECK_FALSE(r.ok);
    CHECK(r.checked == 7);
    INFO(r.message);
    CHECK(r.message.rfind("input 1, element ", 0) == 0);
    CHECK(r.message.find("analytic 0 vs numeric") != std::string::npos);
}

TEST_CASE("gradcheck: a detached path whose numeric gradient is zero does not fail") {
    // detach on a path that does not matter (its value is multiplied by 0) is harmless.
    auto a = random<double>(extents<3>{}, 406);
    auto f = [](const auto& va) { return ag::add(ag::sum(ag::tanh(va)), ag::scale(ag::sum(ag::detach(va)), 0.0)); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a), 3);
}

TEST_CASE("gradcheck: tolerances come from the options") {
    auto a = random<double>(extents<3>{}, 407);
    auto b = detached_input();
    ag::gradcheck_options loose;
    loose.atol = 10.0; // larger than the worst error (3)
    CHECK(ag::gradcheck(half_detached, loose, a, b).ok);
    ag::gradcheck_options relative;
    relative.atol = 0.0;
    relative.rtol = 0.6; // |2b - b| = 0.5 |2b|: passes with rtol 0.6, fails with 0.4
    CHECK(ag::gradcheck(half_detached, relative, a, b).ok);
    relative.rtol = 0.4;
    CHECK_FALSE(ag::gradcheck(half_detached, relative, a, b).ok);
    const ag::gradcheck_options defaults;
    CHECK(defaults.eps == 1e-6);
    CHECK(defaults.atol == 1e-5);
    CHECK(defaults.rtol == 1e-3);
}

TEST_CASE("gradcheck: inputs are restored bit for bit and no tape is left active") {
    auto a = random<double>(extents<3, 7>{}, 408);
    auto b = random<double>(extents<7>{}, 409);
    const auto a0 = a;
    const auto b0 = b;
    auto f = [](const auto& va, const auto& vb) { return weighted_sum(ag::softmax(ag::add(va, vb)), 410); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a, b), 28);
    CHECK(std::memcmp(a.data(), a0.data(), a.size() * sizeof(double)) == 0);
    CHECK(std::memcmp(b.data(), b0.data(), b.size() * sizeof(double)) == 0);
    CHECK(ag::tape::recording() == nullptr);
    CHECK(ag::grad_enabled());
}

TEST_CASE("gradcheck: a NaN gradient fails") {
    // sqrt at 0: analytic derivative 0.5 / 0 = inf; the central difference straddles 0 and gives NaN.
    tensor<double, extents<2>> x;
    x(0) = 1.0;
    x(1) = 0.0;
    const auto r = ag::gradcheck([](const auto& v) { return ag::sum(ag::sqrt(v)); }, x);
    CHECK_FALSE(r.ok);
    INFO(r.message);
    CHECK(r.message.rfind("input 0, element 1", 0) == 0);
}

TEST_CASE("gradcheck: checks a user's own layer built from library ops") {
    // A gated linear unit: (x W1^T) * sigmoid(x W2^T), with sigmoid written as 1 / (1 + exp(-z)).
    auto x = random<double>(extents<3, 4>{}, 411);
    auto w1 = random<double>(extents<5, 4>{}, 412);
    auto w2 = random<double>(extents<5, 4>{}, 413);
    auto glu = [](const auto& vx, const auto& v1, const auto& v2) {
        auto one = ag::constant_input(full<double>(extents<1>{}, 1.0));
        auto gate = ag::div(one, ag::add(one, ag::exp(ag::neg(ag::matmul_nt(vx, v2)))));
        return weighted_sum(ag::mul(ag::matmul_nt(vx, v1), gate), 414);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(glu, x, w1, w2), 52);
}

} }  // namespace test_gradcheck
