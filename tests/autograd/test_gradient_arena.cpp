// SPDX-License-Identifier: Apache-2.0
// autograd::gradient_arena: binding parameters' gradients to one allocation changes where they
// live, never what they are: the same backward gives the same bits, a parameter without a
// gradient still has none, and the whole-arena passes (norm, scaling, zeroing) read and write
// only the gradients that exist.
#include "testing.hpp"

#include "autograd_testing.hpp"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <starbucks/autograd/gradient_arena.hpp>
#include <starbucks/optim/clip.hpp>

namespace { namespace test_gradient_arena {

using namespace starbucks;
using starbucks::testing::flat;
using starbucks::testing::random;
namespace ag = starbucks::autograd;
using leaf = ag::var<double, dextents<2>>;
using states_t = std::vector<std::shared_ptr<ag::var_state<double, backend::reference>>>;

/// Three weights; the loss uses the first two only, so the third never has a gradient.
struct model {
    leaf a, b, unused;
    explicit model(std::uint64_t seed)
        : a(ag::parameter(random<double>(dextents<2>(3, 5), seed))), b(ag::parameter(random<double>(dextents<2>(5, 2), seed + 1))),
          unused(ag::parameter(random<double>(dextents<2>(4, 4), seed + 2))) {}
    states_t states() const { return {a.state(), b.state(), unused.state()}; }
    void backward(double scale) {
        ag::tape t;
        auto on = t.activate();
        t.backward({ag::sum(ag::mul(ag::tanh(ag::matmul(a, b)), ag::matmul(a, b))) * scale});
    }
};

TEST_CASE("gradient_arena: bound gradients hold the same bits as their own allocations, in reverse order on 64-byte boundaries") {
    model plain(11), bound(11);
    ag::gradient_arena<double, backend::reference> arena(bound.states());
    REQUIRE(arena.slots().size() == 3);
    CHECK(arena.slots()[0].param == 2); // the last parameter first: backward finishes it first
    CHECK(arena.slots()[2].param == 0);
    for (const auto& s : arena.slots()) {
        CHECK(s.offset % 8 == 0);
        CHECK(s.size == bound.states()[s.param]->lay().size());
    }
    CHECK(!bound.a.has_grad()); // binding allocates nothing in the parameters' eyes
    for (int pass = 0; pass < 2; ++pass) { // the second accumulates into the first
        plain.backward(0.5);
        bound.backward(0.5);
    }
    REQUIRE(bound.a.has_grad());
    CHECK(!bound.unused.has_grad());
    CHECK(flat(bound.a.grad()) == flat(plain.a.grad()));
    CHECK(flat(bound.b.grad()) == flat(plain.b.grad()));
    CHECK(bound.a.state()->grad_bound());
    CHECK(bound.a.state()->grad_data() == arena.data() + arena.slot_of(0).offset);
}

TEST_CASE("gradient_arena: a gradient that exists before binding is moved into the arena") {
    model m(5);
    m.backward(1.0);
    const auto before = flat(m.b.grad());
    ag::gradient_arena<double, backend::reference> arena(m.states());
    CHECK(m.b.has_grad());
    CHECK(flat(m.b.grad()) == before);
    CHECK(m.b.state()->grad_data() == arena.data() + arena.slot_of(1).offset);
}

TEST_CASE("gradient_arena: norm, clipping and zeroing equal the per-parameter forms and skip what has no gradient") {
    model m(7), other(7);
    ag::gradient_arena<double, backend::reference> arena(m.states());
    m.backward(2.0);
    other.backward(2.0);
    // Garbage where the unused parameter would keep its gradient: never read while it has none.
    const auto& hole = arena.slot_of(2);
    for (std::size_t i = 0; i < hole.size; ++i) arena.data()[hole.offset + i] = std::numeric_limits<double>::quiet_NaN();

    const double per_parameter = optim::grad_norm(other.states());
    CHECK(optim::grad_norm(arena) == doctest::Approx(per_parameter).epsilon(1e-14));
    REQUIRE(per_parameter > 0.1);
    const double clipped_from = optim::clip_grad_norm(arena, 0.1);
    optim::clip_grad_norm(other.states(), 0.1);
    CHECK(clipped_from == doctest::Approx(per_parameter).epsilon(1e-14));
    const auto ga = flat(m.a.grad()), oa = flat(other.a.grad());
    for (std::size_t i = 0; i < ga.size(); ++i) CHECK(ga[i] == doctest::Approx(oa[i]).epsilon(1e-14));
    CHECK(optim::grad_norm(arena) == doctest::Approx(0.1).epsilon(1e-6));

    arena.zero_grads();
    CHECK(m.a.has_grad()); // zeroed, still allocated, as var::zero_grad leaves it
    for (double g : flat(m.a.grad())) CHECK(g == 0.0);
    CHECK(std::isnan(arena.data()[hole.offset])); // not touched: no gradient lives there
    CHECK(optim::grad_norm(arena) == 0.0);

    // Its first gradient starts from zero, whatever the slot held.
    m.unused.mutable_grad();
    for (double g : flat(m.unused.grad())) CHECK(g == 0.0);
}

TEST_CASE("gradient_arena: a parameter listed twice, a null one and a slice that does not fit are refused") {
    model m(3);
    CHECK_THROWS_WITH_AS((ag::gradient_arena<double, backend::reference>(states_t{m.a.state(), m.b.state(), m.a.state()})),
                         doctest::Contains("parameter 0 is listed twice"), usage_error);
    CHECK_THROWS_WITH_AS((ag::gradient_arena<double, backend::reference>(states_t{m.a.state(), nullptr})), doctest::Contains("parameter 1 is null"),
                         usage_error);
    auto small = std::make_shared<buffer<double, backend::reference>>(14);
    CHECK_THROWS_WITH_AS(m.a.state()->bind_grad(small, 0), doctest::Contains("does not fit"), usage_error);
    CHECK_THROWS_WITH_AS(m.a.state()->bind_grad(std::make_shared<buffer<double, backend::reference>>(15), 1), doctest::Contains("does not fit"),
                         usage_error);
    CHECK(!m.a.state()->grad_bound());
}

} } // namespace ::test_gradient_arena
