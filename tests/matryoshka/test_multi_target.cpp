// SPDX-License-Identifier: Apache-2.0
// matryoshka/multi_target.hpp: one backward seeded by weighted per-pair terms equals the sum of
// the per-term gradients, values are reported by name, misuse is refused.
#include "testing.hpp"

#include "../autograd/autograd_testing.hpp"

#include <starbucks/matryoshka/multi_target.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_multi_target {

using namespace starbucks;
namespace ag = starbucks::autograd;
namespace mt = starbucks::matryoshka;
using starbucks::testing::flat;
using starbucks::testing::random;
using starbucks::testing::weighted_sum;

namespace {
/// Per-pair terms over prefixes of one shared "encoder output" y = tanh(x W): the shape of SRL.
struct fixture {
    ag::var<double, dextents<2>> x = ag::constant_input(random<double>(dextents<2>(5, 6), 11));
    ag::var<double, dextents<2>> w = ag::parameter(random<double>(dextents<2>(6, 8), 12));
    mt::pair_list pairs = mt::pair_list::parse("1:2,2:5,3:8");

    auto output() const { return ag::tanh(ag::matmul(x, w)); }
    /// The term of pair i: a weighted sum over the first d columns (different weights per pair).
    template <class Y>
    auto term(const Y& y, std::size_t i) const {
        return weighted_sum(ag::prefix(y, pairs[i].dim), 100 + i);
    }
};
} // namespace

TEST_CASE("multi_target: the gradient of one seeded backward equals the weighted sum of per-term gradients") {
    fixture f;
    const std::vector<double> weights{1.0, 0.3, 2.5};
    std::vector<double> values;

    ag::tape tape;
    mt::multi_target<double, backend::reference> total;
    {
        auto on = tape.activate();
        auto y = f.output(); // one forward for every pair
        for (std::size_t i = 0; i < f.pairs.size(); ++i) total.add("loss_" + mt::label(f.pairs[i]), f.term(y, i), weights[i]);
    }
    total.backward(tape);
    const auto combined = flat(f.w.grad());

    std::vector<double> expected(combined.size(), 0.0);
    double expected_total = 0;
    for (std::size_t i = 0; i < f.pairs.size(); ++i) {
        f.w.zero_grad();
        ag::tape alone;
        auto on = alone.activate();
        auto loss = f.term(f.output(), i);
        alone.backward({loss * weights[i]});
        const auto g = flat(f.w.grad());
        for (std::size_t k = 0; k < g.size(); ++k) expected[k] += g[k];
        expected_total += weights[i] * loss.value()();
        values.push_back(loss.value()());
    }
    REQUIRE(combined.size() == expected.size());
    for (std::size_t k = 0; k < combined.size(); ++k) CHECK(combined[k] == doctest::Approx(expected[k]).epsilon(1e-12));
    CHECK(total.total() == doctest::Approx(expected_total).epsilon(1e-12));
    REQUIRE(total.size() == 3);
    CHECK(total.terms()[1].name == "loss_n2_d5");
    CHECK(total.terms()[1].weight == 0.3);
    CHECK(total.terms()[1].value == values[1]);
    CHECK(total.first_non_finite() == nullptr);
}

TEST_CASE("multi_target: a non-scalar term, a repeated name and an empty backward are errors") {
    fixture f;
    ag::tape tape;
    auto on = tape.activate();
    auto y = f.output();
    mt::multi_target<double, backend::reference> total;
    CHECK_THROWS_AS(total.add("loss_n1_d2", y), shape_error);
    CHECK_THROWS_AS(total.backward(tape), usage_error);
    total.add("loss_n1_d2", f.term(y, 0));
    CHECK_THROWS_AS(total.add("loss_n1_d2", f.term(y, 1)), usage_error);
}

TEST_CASE("multi_target: a NaN term is found by name") {
    fixture f;
    mt::multi_target<double, backend::reference> total;
    total.add("loss_n1_d2", f.term(f.output(), 0));
    auto bad = ag::log(ag::scale(ag::sum(ag::square(f.x)), -1.0)); // log of a negative number
    total.add("loss_n2_d5", bad);
    REQUIRE(total.first_non_finite() != nullptr);
    CHECK(total.first_non_finite()->name == "loss_n2_d5");
}

} }  // namespace test_multi_target
