// SPDX-License-Identifier: Apache-2.0
// autograd::profiler: per-op forward and backward time while active, named sections, nothing
// recorded when inactive, and the attention products told apart from the weight products.
#include "testing.hpp"

#include <string>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_profiler {

using namespace starbucks;
namespace ag = starbucks::autograd;

const ag::profiler::row* find(const std::vector<ag::profiler::row>& rows, const std::string& name) {
    for (const auto& r : rows)
        if (r.name == name) return &r;
    return nullptr;
}

TEST_CASE("profiler: charges each recorded op its forward and backward time, and sections their own") {
    auto x = ag::parameter(random_uniform<float>(extents<2, 16, 32>{}, rng_stream{1, 0}));
    auto w = ag::parameter(random_uniform<float>(extents<48, 32>{}, rng_stream{2, 0}));
    ag::profiler profile;
    {
        auto on = profile.activate();
        REQUIRE(ag::profiler::active() == &profile);
        ag::tape tape;
        auto rec = tape.activate();
        auto h = ag::gelu(ag::matmul_nt(x, w));                     // (2, 16, 48): a weight product
        auto s = ag::matmul<false, true>(h, h);                     // (2, 16, 16): both batched
        tape.backward({ag::sum(s)});
        { ag::profiler::section timed("optimizer"); }
    }
    CHECK(ag::profiler::active() == nullptr);
    const auto rows = profile.rows();
    const auto* weight_product = find(rows, "matmul");
    const auto* batched = find(rows, "batched_matmul");
    const auto* gelu = find(rows, "gelu");
    const auto* optimizer = find(rows, "optimizer");
    REQUIRE(weight_product != nullptr);
    REQUIRE(batched != nullptr);
    REQUIRE(gelu != nullptr);
    REQUIRE(optimizer != nullptr);
    CHECK(weight_product->time.calls == 1);
    CHECK(batched->time.calls == 1);
    CHECK(!weight_product->is_section);
    CHECK(optimizer->is_section);
    CHECK(optimizer->time.calls == 1);
    CHECK(weight_product->time.backward_s > 0);
    CHECK(gelu->time.forward_s > 0);
    double sum = 0;
    for (const auto& r : rows) sum += r.total_s();
    CHECK(profile.total_s() == doctest::Approx(sum));
    const std::string report = profile.report(2 * sum);
    CHECK(report.find("batched_matmul") != std::string::npos);
    CHECK(report.find("[optimizer]") != std::string::npos);
    CHECK(report.find("(not covered)") != std::string::npos);
}

TEST_CASE("profiler: records nothing when no profiler is active") {
    ag::profiler profile;
    auto x = ag::parameter(random_uniform<float>(extents<4, 4>{}, rng_stream{3, 0}));
    ag::tape tape;
    auto rec = tape.activate();
    tape.backward({ag::sum(ag::tanh(x))});
    { ag::profiler::section timed("optimizer"); }
    CHECK(profile.rows().empty());
}

} } // namespace test_profiler
