// SPDX-License-Identifier: Apache-2.0
// optim::schedule: warm-up then linear or cosine decay, as transformers' schedules compute them.
#include "testing.hpp"

#include <starbucks/optim/schedule.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_schedule {

using namespace starbucks;

TEST_CASE("schedule: linear warm-up, then linear decay to zero at the last step") {
    const optim::schedule s{2.0, 10, 110, optim::schedule_kind::linear};
    CHECK(s(0) == 0.0);
    CHECK(s(5) == doctest::Approx(1.0));
    CHECK(s(10) == doctest::Approx(2.0));
    CHECK(s(60) == doctest::Approx(1.0));   // halfway through the decay
    CHECK(s(109) == doctest::Approx(0.02)); // 2 · 1/100
    CHECK(s(110) == 0.0);
    CHECK(s(500) == 0.0);
}

TEST_CASE("schedule: cosine decay follows half a cosine period after warm-up") {
    const optim::schedule s{1.0, 0, 100, optim::schedule_kind::cosine};
    CHECK(s(0) == doctest::Approx(1.0));
    CHECK(s(50) == doctest::Approx(0.5));
    CHECK(s(25) == doctest::Approx(0.5 * (1 + std::cos(M_PI * 0.25))));
    CHECK(s(100) == doctest::Approx(0.0));
}

TEST_CASE("schedule: constant keeps the peak after warm-up; names parse, unknown names are usage errors") {
    const optim::schedule s{3.0, 4, 10, optim::schedule_kind::constant};
    CHECK(s(2) == doctest::Approx(1.5));
    CHECK(s(9) == 3.0);
    CHECK(optim::parse_schedule("cosine") == optim::schedule_kind::cosine);
    CHECK_THROWS_AS(optim::parse_schedule("step"), usage_error);
}

} }  // namespace test_schedule
