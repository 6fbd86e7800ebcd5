// SPDX-License-Identifier: Apache-2.0
// losses/losses.hpp: every loss accepts static extents and gives the bits of its dynamic twin.
#include "testing.hpp"

#include <starbucks/losses/losses.hpp>

#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_losses {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;

TEST_CASE("losses: static extents (4, 6) give the same bits as dynamic extents for every loss") {
    const auto a = random<double>(extents<4, 6>{}, 501);
    const auto b = random<double>(extents<4, 6>{}, 502);
    const auto c = random<double>(extents<8, 6>{}, 503);
    auto dyn2 = [](const auto& t) {
        tensor<double, dextents<2>> d(t.extent(0), t.extent(1));
        for (std::size_t i = 0; i < t.size(); ++i) d.data()[i] = t.data()[i];
        return ag::constant_input(std::move(d));
    };
    const auto sa = ag::constant_input(a), sb = ag::constant_input(b);
    const auto sc = ag::constant_input(c);
    const auto da = dyn2(a), db = dyn2(b), dc = dyn2(c);
    const std::vector<double> labels{0.0, 2.0, 2.0, 5.0};
    CHECK(losses::cosent(sa, sb, labels).value()() == losses::cosent(da, db, labels).value()());
    CHECK(losses::angle(sa, sb, labels).value()() == losses::angle(da, db, labels).value()());
    CHECK(losses::mnrl(sa, sc).value()() == losses::mnrl(da, dc).value()());
    CHECK(losses::kl_coordinates(sa, sb, false, 0.3).value()() == losses::kl_coordinates(da, db, false, 0.3).value()());
    CHECK(losses::kl_scores(sa, sb).value()() == losses::kl_scores(da, db).value()());
    CHECK(losses::cosent(sa, sb, labels).value()() > 0.0);
}

} }  // namespace test_losses
