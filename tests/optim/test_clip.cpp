// SPDX-License-Identifier: Apache-2.0
// optim::clip_grad_norm: the global norm over every gradient and torch's scaling rule.
#include "testing.hpp"

#include <limits>

#include <starbucks/optim/clip.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_clip {

using namespace starbucks;
namespace ag = starbucks::autograd;

TEST_CASE("clip_grad_norm: scales all gradients by max_norm / (norm + 1e-6) only above the limit") {
    auto a = ag::parameter(full<double>(extents<2>{}, 0.0));
    auto b = ag::parameter(full<double>(extents<1>{}, 0.0));
    a.mutable_grad()(0) = 3;
    a.mutable_grad()(1) = 0;
    b.mutable_grad()(0) = 4; // global norm 5
    const std::vector<std::shared_ptr<autograd::var_state<double, backend::reference>>> params{a.state(), b.state()};
    CHECK(optim::grad_norm(params) == doctest::Approx(5.0));
    CHECK(optim::clip_grad_norm(params, 10.0) == doctest::Approx(5.0));
    CHECK(a.grad()(0) == 3.0); // below the limit: untouched
    CHECK(optim::clip_grad_norm(params, 1.0) == doctest::Approx(5.0));
    CHECK(a.grad()(0) == doctest::Approx(3.0 / (5.0 + 1e-6)).epsilon(1e-12));
    CHECK(b.grad()(0) == doctest::Approx(4.0 / (5.0 + 1e-6)).epsilon(1e-12));
    CHECK(optim::grad_norm(params) == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("clip_grad_norm: a NaN gradient gives a NaN norm and is not scaled") {
    auto a = ag::parameter(full<double>(extents<2>{}, 0.0));
    a.mutable_grad()(0) = std::numeric_limits<double>::quiet_NaN();
    a.mutable_grad()(1) = 100;
    const std::vector<std::shared_ptr<autograd::var_state<double, backend::reference>>> params{a.state()};
    CHECK(std::isnan(optim::clip_grad_norm(params, 1.0)));
    CHECK(a.grad()(1) == 100.0);
}

} }  // namespace test_clip
