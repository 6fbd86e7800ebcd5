// SPDX-License-Identifier: Apache-2.0
// nn::linear and nn::layer_norm: shapes, initialisation, gradients.
#include "nn_testing.hpp"

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_linear {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;

TEST_CASE("linear: y = x·Wᵀ + b with an [out, in] weight") {
    nn::linear<double> l(3, 2, rng_stream{1, 0});
    tensor<double, dextents<2>> w(dextents<2>(2, 3));
    double k = 1;
    for (std::size_t o = 0; o < 2; ++o)
        for (std::size_t i = 0; i < 3; ++i) w(o, i) = k++;
    std::copy(w.data(), w.data() + w.size(), l.weight.mutable_value().data());
    l.bias.mutable_value()(0) = 0.5;
    l.bias.mutable_value()(1) = -1;
    tensor<double, dextents<2>> x(dextents<2>(1, 3));
    x(0, 0) = 1, x(0, 1) = 2, x(0, 2) = 3;
    const auto y = l(ag::constant_input(x));
    REQUIRE(y.dims() == shape{1, 2});
    CHECK(y.value()(0, 0) == 1 + 4 + 9 + 0.5);
    CHECK(y.value()(0, 1) == 4 + 10 + 18 - 1.0);
}

TEST_CASE("linear: weights start as Normal(0, 0.02), biases as zero") {
    nn::linear<double> l(64, 32, rng_stream{7, 0});
    auto w = starbucks::testing::flat(l.weight.value());
    double mean = 0, sq = 0;
    for (double v : w) mean += v, sq += v * v;
    mean /= double(w.size());
    const double sd = std::sqrt(sq / double(w.size()) - mean * mean);
    CHECK(std::abs(mean) < 0.002);
    CHECK(sd == doctest::Approx(0.02).epsilon(0.05));
    for (double v : starbucks::testing::flat(l.bias.value())) CHECK(v == 0.0);
    nn::parameter_list<double, backend::reference> p;
    l.append_parameters(p, "dense.");
    REQUIRE(p.size() == 2);
    CHECK(p[0].first == "dense.weight");
    CHECK(p[1].first == "dense.bias");
}

TEST_CASE("linear: a width other than `in` is a shape_error") {
    nn::linear<double> l(3, 2, rng_stream{1, 0});
    const auto x = ag::constant_input(zeros<double>(dextents<2>(4, 5)));
    CHECK_THROWS_AS(l(x), shape_error);
}

TEST_CASE("linear: passes gradcheck for x, weight and bias on a batch of sequences") {
    auto x = random<double>(dextents<3>(2, 3, 4), 11);
    auto w = random<double>(dextents<2>(5, 4), 12);
    auto b = random<double>(dextents<1>(5), 13);
    auto f = [](const auto& vx, const auto& vw, const auto& vb) {
        nn::linear<double> l;
        l.weight = vw;
        l.bias = vb;
        return starbucks::testing::weighted_sum(l(vx), 14);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, w, b), x.size() + w.size() + b.size());
}

TEST_CASE("layer_norm: starts at gain 1 and shift 0 and passes gradcheck") {
    nn::layer_norm<double> ln(4, 1e-5);
    for (double v : starbucks::testing::flat(ln.weight.value())) CHECK(v == 1.0);
    for (double v : starbucks::testing::flat(ln.bias.value())) CHECK(v == 0.0);
    auto x = random<double>(dextents<3>(2, 3, 4), 21);
    auto g = random<double>(dextents<1>(4), 22, 0.8, 1.2);
    auto f = [](const auto& vx, const auto& vg) {
        nn::layer_norm<double> l(4, 1e-5);
        l.weight = vg;
        return starbucks::testing::weighted_sum(l(vx), 23);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, g), x.size() + g.size());
}

} }  // namespace test_linear
