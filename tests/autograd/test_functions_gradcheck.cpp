// SPDX-License-Identifier: Apache-2.0
// Every differentiable function of autograd/functions/ checked against float64 central differences.
#include "testing.hpp"

#include "autograd_testing.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_functions_gradcheck {

using namespace starbucks;
using starbucks::testing::random;
using starbucks::testing::weighted_sum;
namespace ag = starbucks::autograd;

namespace {

/// gradcheck of weighted_sum(op<TA, TB>(a, b)) where op(a) is (M, K) and op(b) is (K, N), with
/// batch axes `Batch...` in front of both operands.
template <bool TA, bool TB, std::size_t M, std::size_t K, std::size_t N, std::size_t... Batch>
void check_matmul(std::uint64_t seed) {
    using EA = extents<Batch..., (TA ? K : M), (TA ? M : K)>;
    using EB = extents<Batch..., (TB ? N : K), (TB ? K : N)>;
    auto a = random<double>(EA{}, seed);
    auto b = random<double>(EB{}, seed + 1);
    auto f = [&](const auto& va, const auto& vb) { return weighted_sum(ag::matmul<TA, TB>(va, vb), seed + 2); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a, b), a.size() + b.size());
}

} // namespace

// ---- matmul ----

TEST_CASE("autograd matmul: all four transpose combinations pass gradcheck for both operands") {
    SUBCASE("<false, false>") { check_matmul<false, false, 3, 7, 5>(10); }
    SUBCASE("<false, true>") { check_matmul<false, true, 3, 7, 5>(20); }
    SUBCASE("<true, false>") { check_matmul<true, false, 3, 7, 5>(30); }
    SUBCASE("<true, true>") { check_matmul<true, true, 3, 7, 5>(40); }
}

TEST_CASE("autograd matmul: degenerate extents of 1 pass gradcheck in every transpose combination") {
    // Single rows and columns take the special leading-dimension paths of describe_matrix.
    check_matmul<false, false, 1, 3, 1>(50);
    check_matmul<false, true, 1, 3, 1>(51);
    check_matmul<true, false, 1, 3, 1>(52);
    check_matmul<true, true, 1, 3, 1>(53);
    check_matmul<false, false, 3, 1, 7>(54);
    check_matmul<true, true, 7, 1, 3>(55);
}

TEST_CASE("autograd matmul: batched rank-3 products pass gradcheck in every transpose combination") {
    check_matmul<false, false, 3, 4, 5, 2>(60);
    check_matmul<false, true, 3, 4, 5, 2>(61);
    check_matmul<true, false, 3, 4, 5, 2>(62);
    check_matmul<true, true, 3, 4, 5, 2>(63);
}

TEST_CASE("autograd matmul: a product scaled inside the GEMM passes gradcheck and equals the scaled product") {
    auto a = random<double>(extents<2, 3, 4>{}, 80);
    auto b = random<double>(extents<2, 5, 4>{}, 81);
    auto f = [](const auto& va, const auto& vb) { return weighted_sum(ag::matmul<false, true>(va, vb, -0.375), 82); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a, b), a.size() + b.size());
    auto shared = random<double>(extents<5, 4>{}, 83); // the shared-weight gradient path scales too
    auto g = [](const auto& va, const auto& vw) { return weighted_sum(ag::matmul<false, true>(va, vw, 2.5), 84); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(g, a, shared), a.size() + shared.size());
    const auto scaled = ag::matmul<false, true>(ag::constant_input(a), ag::constant_input(b), -0.375);
    const auto plain = starbucks::matmul<false, true>(a, b);
    for (std::size_t i = 0; i < plain.size(); ++i) CHECK(scaled.value().data()[i] == doctest::Approx(-0.375 * plain.data()[i]).epsilon(1e-14));
}

TEST_CASE("autograd matmul: a rank-2 weight shared across the batch gets the gradient summed over the batch") {
    auto x = random<double>(extents<2, 3, 4>{}, 70);
    SUBCASE("x (2,3,4) times W^T with W (5,4)") {
        auto w = random<double>(extents<5, 4>{}, 71);
        auto f = [](const auto& vx, const auto& vw) { return weighted_sum(ag::matmul_nt(vx, vw), 72); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, w), x.size() + w.size());
    }
    SUBCASE("x (2,3,4) times W with W (4,5)") {
        auto w = random<double>(extents<4, 5>{}, 73);
        auto f = [](const auto& vx, const auto& vw) { return weighted_sum(ag::matmul(vx, vw), 74); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, w), x.size() + w.size());
    }
    SUBCASE("x^T (2,4,3) with W^T: both operands transposed") {
        auto w = random<double>(extents<5, 3>{}, 75);
        auto f = [](const auto& vx, const auto& vw) { return weighted_sum(ag::matmul<true, true>(vx, vw), 76); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, w), x.size() + w.size());
    }
    SUBCASE("W (5,3) on the left of a batched x (2,3,4)") {
        auto w = random<double>(extents<5, 3>{}, 77);
        auto f = [](const auto& vw, const auto& vx) { return weighted_sum(ag::matmul(vw, vx), 78); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, w, x), x.size() + w.size());
    }
}

TEST_CASE("autograd matmul: strided and transposed view operands pass gradcheck") {
    SUBCASE("transpose<0,1> of a rank-2 leaf (column-major operand)") {
        auto x = random<double>(extents<4, 3>{}, 80);
        auto w = random<double>(extents<4, 5>{}, 81);
        auto f = [](const auto& vx, const auto& vw) { return weighted_sum(ag::matmul(ag::transpose<0, 1>(vx), vw), 82); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, w), x.size() + w.size());
    }
    SUBCASE("prefix of the last axis (rows with a leading dimension wider than the view)") {
        auto x = random<double>(extents<3, 7>{}, 83);
        auto w = random<double>(extents<5, 4>{}, 84);
        auto f = [](const auto& vx, const auto& vw) { return weighted_sum(ag::matmul_nt(ag::prefix<4>(vx), vw), 85); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, w), x.size() + w.size());
    }
    SUBCASE("transpose<1,2> of a rank-3 leaf against a rank-3 operand") {
        auto x = random<double>(extents<2, 4, 3>{}, 86);
        auto y = random<double>(extents<2, 4, 5>{}, 87);
        auto f = [](const auto& vx, const auto& vy) { return weighted_sum(ag::matmul(ag::transpose<1, 2>(vx), vy), 88); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, y), x.size() + y.size());
    }
    SUBCASE("transpose<0,2> of a rank-3 leaf (no gemm layout: copied once)") {
        auto x = random<double>(extents<4, 3, 2>{}, 89); // viewed as (2, 3, 4) with strides (1, 2, 6)
        auto w = random<double>(extents<5, 4>{}, 90);
        auto f = [](const auto& vx, const auto& vw) { return weighted_sum(ag::matmul_nt(ag::transpose<0, 2>(vx), vw), 91); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, w), x.size() + w.size());
    }
    SUBCASE("the same leaf on both sides through a transposed view: x^T x") {
        auto x = random<double>(extents<3, 4>{}, 92);
        auto f = [](const auto& vx) { return weighted_sum(ag::matmul(ag::transpose<0, 1>(vx), vx), 93); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x), x.size());
    }
}

// ---- linear (fused bias, GELU, residual) ----

TEST_CASE("autograd linear: x, weight and bias pass gradcheck with and without GELU, rank 2 and rank 3") {
    // gradcheck's numeric passes run unrecorded, so they take the fully fused GEMM (GELU in
    // the epilogue) while the analytic pass records a fused bias and a separate GELU: the two
    // paths are checked against each other too.
    using act = backend::gemm_activation;
    auto w = random<double>(extents<5, 4>{}, 110);
    auto b = random<double>(extents<5>{}, 111);
    for (const act a : {act::none, act::gelu}) {
        INFO("gelu=" << (a == act::gelu));
        auto x2 = random<double>(extents<3, 4>{}, 112);
        auto f2 = [&](const auto& vx, const auto& vw, const auto& vb) { return weighted_sum(ag::linear(vx, vw, vb, a), 113); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f2, x2, w, b), x2.size() + w.size() + b.size());
        auto x3 = random<double>(extents<2, 3, 4>{}, 114);
        auto f3 = [&](const auto& vx, const auto& vw, const auto& vb) { return weighted_sum(ag::linear(vx, vw, vb, a), 115); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f3, x3, w, b), x3.size() + w.size() + b.size());
    }
}

TEST_CASE("autograd linear_residual: x, weight, bias and the residual pass gradcheck") {
    auto x = random<double>(extents<2, 3, 4>{}, 116);
    auto w = random<double>(extents<5, 4>{}, 117);
    auto b = random<double>(extents<5>{}, 118);
    auto r = random<double>(extents<2, 3, 5>{}, 119);
    auto f = [](const auto& vx, const auto& vw, const auto& vb, const auto& vr) {
        return weighted_sum(ag::linear_residual(vx, vw, vb, vr), 120);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, w, b, r), x.size() + w.size() + b.size() + r.size());
}

TEST_CASE("autograd linear: a prefix view of a wider weight passes gradcheck (the sub-dimension MLM transform)") {
    auto h = random<double>(extents<2, 3, 4>{}, 121);
    auto w = random<double>(extents<6, 7>{}, 122); // [C, C'] of which the first 4 columns are used
    auto b = random<double>(extents<6>{}, 123);
    auto f = [](const auto& vh, const auto& vw, const auto& vb) {
        return weighted_sum(ag::linear(vh, ag::prefix(vw, 4, 1), vb, backend::gemm_activation::gelu), 124);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, h, w, b), h.size() + w.size() + b.size());
}

TEST_CASE("autograd linear: recorded and unrecorded forwards agree with the separate ops") {
    auto x = random<double>(extents<2, 3, 4>{}, 125);
    auto w = random<double>(extents<5, 4>{}, 126);
    auto b = random<double>(extents<5>{}, 127);
    auto r = random<double>(extents<2, 3, 5>{}, 128);
    const auto plain = add(matmul_nt(x, w), b);
    const auto expected_gelu = gelu(plain);
    const auto expected_residual = add(plain, r);
    auto check = [&](bool recorded) {
        INFO("recorded=" << recorded);
        ag::tape t;
        auto guard = t.activate();
        auto leaf = [&](const auto& t) {
            using X = std::remove_cvref_t<decltype(t)>;
            return ag::var<double, typename X::extents_type>(X(t), recorded);
        };
        auto xv = leaf(x);
        auto wv = leaf(w);
        auto bv = leaf(b);
        auto rv = leaf(r);
        const auto yv = ag::linear(xv, wv, bv, backend::gemm_activation::gelu);
        const auto zv = ag::linear_residual(xv, wv, bv, rv);
        const auto y = yv.value();
        const auto z = zv.value();
        CHECK(t.size() == (recorded ? 3u : 0u)); // linear + gelu, then linear_residual
        for (std::size_t i = 0; i < y.size(); ++i) {
            CHECK(y.data()[i] == doctest::Approx(expected_gelu.data()[i]).epsilon(1e-14));
            CHECK(z.data()[i] == doctest::Approx(expected_residual.data()[i]).epsilon(1e-14));
        }
    };
    check(true);
    check(false);
}

// ---- fused attention ----

TEST_CASE("autograd attention: q, k and v pass gradcheck, masked and with dropout, one sample per tile and several") {
    // The numeric passes are unrecorded forwards; the analytic one recomputes scores,
    // probabilities and the dropout mask tile by tile in the backward.
    struct sizes {
        std::size_t batch, tokens, heads, head_size;
    };
    for (const sizes d : {sizes{2, 4, 2, 3}, sizes{3, 3, 1, 2}}) {
        for (const double p : {0.0, 0.3}) {
            INFO("B=" << d.batch << " T=" << d.tokens << " H=" << d.heads << " p=" << p);
            const dextents<3> e(d.batch, d.tokens, d.heads * d.head_size);
            auto q = random<double>(e, 130);
            auto k = random<double>(e, 131);
            auto v = random<double>(e, 132);
            tensor<double, dextents<2>> mask(d.batch, d.tokens);
            mask(0, d.tokens - 1) = std::numeric_limits<double>::lowest(); // sample 0 pads its last key
            attention_options<double> o;
            o.heads = d.heads;
            o.scale = 1.0 / std::sqrt(double(d.head_size));
            o.dropout_p = p;
            o.rng = rng_stream{133, 134};
            auto f = [&](const auto& vq, const auto& vk, const auto& vv) {
                return weighted_sum(ag::attention(vq, vk, vv, ag::constant_input(mask), o), 135);
            };
            STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, q, k, v), q.size() + k.size() + v.size());
        }
    }
}

// ---- element-wise ----

TEST_CASE("autograd add, sub, mul, div: broadcast operands pass gradcheck for both sides") {
    auto x = random<double>(extents<3, 5>{}, 100);
    auto bias = random<double>(extents<5>{}, 101, 0.5, 1.5);
    auto column = random<double>(extents<3, 1>{}, 102, 0.5, 1.5);
    auto row = random<double>(extents<1, 5>{}, 103, 0.5, 1.5);
    auto full_b = random<double>(extents<3, 5>{}, 104, 0.5, 1.5); // denominators kept away from 0
    const std::size_t seed = 105;
    SUBCASE("same shape") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::add(a, b), seed); }, x, full_b), 30);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::sub(a, b), seed); }, x, full_b), 30);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::mul(a, b), seed); }, x, full_b), 30);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::div(a, b), seed); }, x, full_b), 30);
    }
    SUBCASE("a bias of extent C over (N, C)") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::add(a, b), seed); }, x, bias), 20);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::sub(a, b), seed); }, x, bias), 20);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::mul(a, b), seed); }, x, bias), 20);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::div(a, b), seed); }, x, bias), 20);
    }
    SUBCASE("the broadcast operand on the left: C over (N, C)") {
        auto num = random<double>(extents<5>{}, 106);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::add(a, b), seed); }, num, full_b), 20);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::sub(a, b), seed); }, num, full_b), 20);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::mul(a, b), seed); }, num, full_b), 20);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::div(a, b), seed); }, num, full_b), 20);
    }
    SUBCASE("(N, 1) over (N, C)") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::add(a, b), seed); }, x, column), 18);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::sub(a, b), seed); }, x, column), 18);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::mul(a, b), seed); }, x, column), 18);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::div(a, b), seed); }, x, column), 18);
    }
    SUBCASE("(N, 1) with (1, C): both operands broadcast") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::add(a, b), seed); }, column, row), 8);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::sub(a, b), seed); }, column, row), 8);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::mul(a, b), seed); }, column, row), 8);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::div(a, b), seed); }, column, row), 8);
    }
    SUBCASE("a bias of extent C over a rank-3 (B, T, C)") {
        auto x3 = random<double>(extents<2, 3, 5>{}, 107);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::mul(a, b), seed); }, x3, bias), 35);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([&](const auto& a, const auto& b) { return weighted_sum(ag::div(a, b), seed); }, x3, bias), 35);
    }
}

TEST_CASE("autograd unary ops: gelu, tanh, exp, log, neg, square, sqrt and scale pass gradcheck") {
    auto x = random<double>(extents<3, 7>{}, 110, -2.0, 2.0);
    auto pos = random<double>(extents<3, 7>{}, 111, 0.5, 2.0); // log and sqrt need x > 0
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::gelu(v), 112); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::tanh(v), 112); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::exp(v), 112); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::log(v), 112); }, pos), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::neg(v), 112); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::square(v), 112); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::sqrt(v), 112); }, pos), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::scale(v, -0.37), 112); }, x), 21);
}

TEST_CASE("autograd unary ops: a transposed (non-contiguous) input passes gradcheck") {
    auto x = random<double>(extents<7, 3>{}, 113, -2.0, 2.0);
    auto f = [](const auto& v) { return weighted_sum(ag::gelu(ag::transpose<0, 1>(v)), 114); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x), 21);
    auto g = [](const auto& v) { return weighted_sum(ag::tanh(ag::square(ag::transpose<0, 1>(v))), 115); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(g, x), 21);
}

// ---- reductions ----

TEST_CASE("autograd sum and mean: whole-tensor and per-axis reductions pass gradcheck") {
    auto x = random<double>(extents<3, 7>{}, 120);
    auto x3 = random<double>(extents<2, 3, 5>{}, 121);
    // Reductions are linear: square first so the gradient depends on x.
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return ag::sum(ag::square(v)); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return ag::mean(ag::square(v)); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::sum<0>(ag::square(v)), 122); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::sum<1>(ag::square(v)), 123); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::mean<0>(ag::square(v)), 124); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::mean<1>(ag::square(v)), 125); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::sum<1>(ag::tanh(v)), 126); }, x3), 30);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::mean<2>(ag::tanh(v)), 127); }, x3), 30);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::mean<0>(ag::tanh(v)), 128); }, x3), 30);
}

TEST_CASE("autograd sum and mean: the per-axis gradient is the upstream gradient broadcast back") {
    // Exact values: d/dx of sum_j w_j * mean_i x_ij is w_j / N for every i.
    auto x = random<double>(extents<3, 7>{}, 129);
    auto w = random<double>(extents<7>{}, 130);
    ag::tape t;
    auto vx = ag::parameter(x);
    {
        auto on = t.activate();
        auto loss = ag::sum(ag::mul(ag::mean<0>(vx), ag::constant_input(w)));
        t.backward({loss});
    }
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 7; ++j) CHECK(vx.grad()(i, j) == doctest::Approx(w(j) / 3.0).epsilon(1e-15));
}

TEST_CASE("autograd logsumexp: passes gradcheck on rank-2 and rank-3 inputs") {
    auto x = random<double>(extents<3, 7>{}, 131, -3.0, 3.0);
    auto x3 = random<double>(extents<2, 3, 5>{}, 132, -3.0, 3.0);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::logsumexp(v), 133); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::logsumexp(v), 134); }, x3), 30);
}

// ---- softmax ----

TEST_CASE("autograd softmax and log_softmax: pass gradcheck under a random weighting of the outputs") {
    auto x = random<double>(extents<3, 7>{}, 140, -3.0, 3.0);
    auto x3 = random<double>(extents<2, 3, 5>{}, 141, -3.0, 3.0);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::softmax(v), 142); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::log_softmax(v), 143); }, x), 21);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::softmax(v), 144); }, x3), 30);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::log_softmax(v), 145); }, x3), 30);
    // On a transposed view, the softmax runs along the parent's first axis.
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::softmax(ag::transpose<0, 1>(v)), 146); }, x), 21);
}

TEST_CASE("autograd softmax: sum of a softmax has zero gradient, so the weighting is what makes the check bite") {
    // sum(softmax(x)) is the constant rows; its analytic and numeric gradients are both ~0.
    auto x = random<double>(extents<3, 7>{}, 147, -3.0, 3.0);
    ag::tape t;
    auto vx = ag::parameter(x);
    {
        auto on = t.activate();
        t.backward({ag::sum(ag::softmax(vx))});
    }
    CHECK(starbucks::testing::max_abs_diff(vx.grad(), zeros<double>(extents<3, 7>{})) < 1e-15);
}

TEST_CASE("autograd softmax with an additive mask: passes gradcheck with a constant mask and with a learned one") {
    // Scores (B=2, T=3, T=3) with a padding mask (B, 1, T): the last key of batch 1 is padding.
    auto scores = random<double>(extents<2, 3, 3>{}, 150, -2.0, 2.0);
    tensor<double, extents<2, 1, 3>> pad_mask;
    pad_mask(1, 0, 2) = -1e9;
    SUBCASE("mask without requires_grad (constant_input)") {
        auto f = [&](const auto& s) { return weighted_sum(ag::softmax(s, ag::constant_input(pad_mask)), 151); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, scores), 18);
    }
    SUBCASE("a mask that is itself a leaf with a gradient, broadcast over the query axis") {
        auto bias = random<double>(extents<2, 1, 3>{}, 152);
        auto f = [](const auto& s, const auto& m) { return weighted_sum(ag::softmax(s, m), 153); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, scores, bias), 24);
    }
    SUBCASE("a rank-1 mask of extent T over every row") {
        auto bias = random<double>(extents<3>{}, 154);
        auto f = [](const auto& s, const auto& m) { return weighted_sum(ag::softmax(s, m), 155); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, scores, bias), 21);
    }
}

TEST_CASE("autograd softmax with a mask: a mask that does not broadcast to the scores is a shape_error") {
    auto s = ag::constant_input(random<double>(extents<2, 3, 3>{}, 156));
    // Broadcasts with the scores, but to a larger shape (2, 2, 3, 3).
    auto wider = ag::constant_input(random<double>(extents<2, 1, 3, 3>{}, 157));
    CHECK_THROWS_AS(ag::softmax(s, wider), shape_error);
    CHECK(starbucks::testing::error_message([&] { ag::softmax(s, wider); }).find("does not broadcast to (2, 3, 3)") != std::string::npos);
    // Dynamic extents that do not broadcast at all.
    auto mismatched = ag::constant_input(random<double>(extents<dyn, 3>(5), 158));
    CHECK_THROWS_AS(ag::softmax(s, mismatched), shape_error);
}

// ---- normalisation ----

TEST_CASE("autograd layer_norm: gradients of x, gamma and beta pass gradcheck") {
    auto x = random<double>(extents<3, 7>{}, 160, -2.0, 2.0);
    auto gamma = random<double>(extents<7>{}, 161, 0.5, 1.5);
    auto beta = random<double>(extents<7>{}, 162);
    auto f = [](const auto& vx, const auto& vg, const auto& vb) { return weighted_sum(ag::layer_norm(vx, vg, vb, 1e-5), 163); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, gamma, beta), 35);

    auto x3 = random<double>(extents<2, 3, 7>{}, 164, -2.0, 2.0);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x3, gamma, beta), 56);
    // A strided input: layer norm over the parent's first axis.
    auto xt = random<double>(extents<7, 3>{}, 165, -2.0, 2.0);
    auto g = [](const auto& vx, const auto& vg, const auto& vb) {
        return weighted_sum(ag::layer_norm(ag::transpose<0, 1>(vx), vg, vb, 1e-5), 166);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(g, xt, gamma, beta), 35);
}

TEST_CASE("autograd layer_norm: only the operands that need a gradient get one") {
    auto vx = ag::parameter(random<double>(extents<3, 7>{}, 167));
    auto vg = ag::constant_input(full<double>(extents<7>{}, 1.0));
    auto vb = ag::parameter(zeros<double>(extents<7>{}));
    ag::tape t;
    {
        auto on = t.activate();
        t.backward({weighted_sum(ag::layer_norm(vx, vg, vb, 1e-5), 168)});
    }
    CHECK(vx.has_grad());
    CHECK_FALSE(vg.has_grad());
    CHECK(vb.has_grad());
}

TEST_CASE("autograd l2_normalize: passes gradcheck") {
    auto x = random<double>(extents<3, 7>{}, 170);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::l2_normalize(v), 171); }, x), 21);
    auto x3 = random<double>(extents<2, 3, 5>{}, 172);
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::l2_normalize(v), 173); }, x3), 30);
}

TEST_CASE("autograd cosine_similarity: passes gradcheck for both operands") {
    auto a = random<double>(extents<3, 5>{}, 180);
    auto b = random<double>(extents<4, 5>{}, 181);
    auto f = [](const auto& va, const auto& vb) { return weighted_sum(ag::cosine_similarity(va, vb), 182); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a, b), 35);
    // The same leaf on both sides: a self-similarity matrix.
    auto g = [](const auto& va) { return weighted_sum(ag::cosine_similarity(va, va), 183); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(g, a), 15);
}

TEST_CASE("autograd cosine_similarity: dynamic widths that differ are a shape_error") {
    auto a = ag::constant_input(random<double>(extents<3, 5>{}, 184));
    auto b = ag::constant_input(random<double>(extents<4, 5>{}, 185));
    CHECK_THROWS_AS(ag::cosine_similarity(ag::prefix(a, 4), ag::prefix(b, 3)), shape_error);
}

// ---- gather ----

TEST_CASE("autograd embedding: the table gradient scatter-adds rows for repeated ids and passes gradcheck") {
    auto table = random<double>(extents<5, 3>{}, 190);
    tensor<std::int64_t, extents<2, 4>> ids;
    const std::int64_t values[] = {1, 3, 1, 0, 3, 3, 4, 1}; // row 2 unused; 1 and 3 repeated
    for (int i = 0; i < 8; ++i) ids.data()[i] = values[i];
    auto f = [&](const auto& vt) { return weighted_sum(ag::tanh(ag::embedding(vt, ids)), 191); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, table), 15);

    // Exact: with y = embedding and loss = sum(y * w), dtable[r] = sum of w over positions with id r.
    auto w = random<double>(extents<2, 4, 3>{}, 192);
    auto vt = ag::parameter(table);
    ag::tape t;
    {
        auto on = t.activate();
        t.backward({ag::sum(ag::mul(ag::embedding(vt, ids), ag::constant_input(w)))});
    }
    for (int r = 0; r < 5; ++r)
        for (int c = 0; c < 3; ++c) {
            double expected = 0;
            for (int i = 0; i < 8; ++i)
                if (values[i] == r) expected += w.data()[i * 3 + c];
            CHECK(vt.grad()(r, c) == doctest::Approx(expected).epsilon(1e-15));
        }
}

TEST_CASE("autograd masked_mean: passes gradcheck with padding, and padded tokens get no gradient") {
    auto x = random<double>(extents<3, 4, 3>{}, 200);
    tensor<double, extents<3, 4>> mask; // row 0: all tokens; row 1: two of four; row 2: none
    for (int t = 0; t < 4; ++t) mask(0, t) = 1.0;
    mask(1, 0) = 1.0;
    mask(1, 2) = 1.0;
    auto f = [&](const auto& vx) { return weighted_sum(ag::tanh(ag::masked_mean(ag::square(vx), mask)), 201); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x), 36);

    auto vx = ag::parameter(x);
    ag::tape t;
    {
        auto on = t.activate();
        t.backward({f(vx)});
    }
    for (int c = 0; c < 3; ++c) {
        CHECK(vx.grad()(1, 1, c) == 0.0);
        CHECK(vx.grad()(1, 3, c) == 0.0);
        for (int tok = 0; tok < 4; ++tok) CHECK(vx.grad()(2, tok, c) == 0.0);
        CHECK(vx.grad()(1, 0, c) != 0.0);
    }
}

// ---- losses ----

TEST_CASE("autograd cross_entropy: passes gradcheck with ignored rows, and ignored rows get no gradient") {
    auto logits = random<double>(extents<5, 4>{}, 210, -2.0, 2.0);
    tensor<std::int64_t, extents<5>> labels;
    const std::int64_t values[] = {2, ignore_index_default, 0, 3, ignore_index_default};
    for (int i = 0; i < 5; ++i) labels(i) = values[i];
    auto f = [&](const auto& v) { return ag::cross_entropy(v, labels); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, logits), 20);
    // Scaled afterwards: the upstream gradient reaches the rule.
    auto g = [&](const auto& v) { return ag::scale(ag::cross_entropy(ag::tanh(v), labels), 2.5); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(g, logits), 20);
    // A custom ignore_index: label 3 is skipped instead.
    auto h = [&](const auto& v) {
        tensor<std::int64_t, extents<5>> l2;
        for (int i = 0; i < 5; ++i) l2(i) = values[i] == ignore_index_default ? 1 : values[i];
        return ag::cross_entropy(v, l2, 3);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(h, logits), 20);

    auto vx = ag::parameter(logits);
    ag::tape t;
    {
        auto on = t.activate();
        t.backward({f(vx)});
    }
    for (int c = 0; c < 4; ++c) {
        CHECK(vx.grad()(1, c) == 0.0);
        CHECK(vx.grad()(4, c) == 0.0);
    }
}

TEST_CASE("autograd kl_div: both log-probability arguments pass gradcheck") {
    auto a = random<double>(extents<3, 5>{}, 220, -2.0, 2.0);
    auto b = random<double>(extents<3, 5>{}, 221, -2.0, 2.0);
    auto f = [](const auto& va, const auto& vb) { return ag::kl_div(ag::log_softmax(va), ag::log_softmax(vb)); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a, b), 30);
    // Raw log-probabilities as leaves: the rule itself, without log_softmax around it.
    auto lq = random<double>(extents<3, 5>{}, 222, -3.0, -0.1);
    auto lp = random<double>(extents<3, 5>{}, 223, -3.0, -0.1);
    auto g = [](const auto& vq, const auto& vp) { return ag::scale(ag::kl_div(vq, vp), 1.7); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(g, lq, lp), 30);
}

TEST_CASE("autograd kl_div: a detached teacher gets no gradient and the student still passes gradcheck") {
    auto student = random<double>(extents<3, 5>{}, 224, -2.0, 2.0);
    auto teacher = random<double>(extents<3, 5>{}, 225, -2.0, 2.0);
    // The teacher enters as a constant: gradcheck over the student only.
    auto f = [&](const auto& vs) {
        auto vt = ag::parameter(teacher);
        return ag::kl_div(ag::log_softmax(vs), ag::detach(ag::log_softmax(vt)));
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, student), 15);

    auto vs = ag::parameter(student);
    auto vt = ag::parameter(teacher);
    ag::tape t;
    {
        auto on = t.activate();
        auto target = ag::detach(ag::log_softmax(vt));
        CHECK_FALSE(target.requires_grad());
        t.backward({ag::kl_div(ag::log_softmax(vs), target)});
    }
    CHECK(vs.has_grad());
    CHECK_FALSE(vt.has_grad());
}

// ---- dropout ----

TEST_CASE("autograd dropout: with a fixed rng_stream the mask is deterministic and passes gradcheck") {
    auto x = random<double>(extents<3, 7>{}, 230, -2.0, 2.0);
    const rng_stream rng{42, 7};
    auto f = [&](const auto& v) { return weighted_sum(ag::dropout(ag::tanh(v), 0.3, rng), 231); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x), 21);

    // The check is not vacuous: some elements are dropped, their gradient is 0, the rest are scaled.
    auto vx = ag::parameter(full<double>(extents<3, 7>{}, 1.0));
    ag::tape t;
    {
        auto on = t.activate();
        t.backward({ag::sum(ag::dropout(vx, 0.3, rng))});
    }
    int dropped = 0, kept = 0;
    for (std::size_t i = 0; i < 21; ++i) {
        const double g = vx.grad().data()[i];
        if (g == 0.0) ++dropped;
        else if (g == doctest::Approx(1.0 / 0.7).epsilon(1e-15)) ++kept;
    }
    CHECK(dropped > 0);
    CHECK(kept > 0);
    CHECK(dropped + kept == 21);
}

TEST_CASE("autograd dropout: probability 0 is the identity and records nothing") {
    auto vx = ag::parameter(random<double>(extents<3, 7>{}, 232));
    ag::tape t;
    auto on = t.activate();
    auto y = ag::dropout(vx, 0.0, rng_stream{1, 2});
    CHECK(y.state() == vx.state());
    CHECK(t.size() == 0);
}

// ---- concat ----

TEST_CASE("autograd concat: concat<0> and concat<1> pass gradcheck for both parts") {
    SUBCASE("concat<0> of (2, 3) and (3, 3)") {
        auto a = random<double>(extents<2, 3>{}, 240);
        auto b = random<double>(extents<3, 3>{}, 241);
        auto f = [](const auto& va, const auto& vb) { return weighted_sum(ag::tanh(ag::concat<0>(va, vb)), 242); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a, b), 15);
    }
    SUBCASE("concat<1> of (3, 1) and (3, 4)") {
        auto a = random<double>(extents<3, 1>{}, 243);
        auto b = random<double>(extents<3, 4>{}, 244);
        auto f = [](const auto& va, const auto& vb) { return weighted_sum(ag::tanh(ag::concat<1>(va, vb)), 245); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a, b), 15);
    }
    SUBCASE("concat<1> of a view and a computed value") {
        auto a = random<double>(extents<3, 7>{}, 246);
        auto f = [](const auto& va) { return weighted_sum(ag::square(ag::concat<1>(ag::prefix<2>(va), ag::tanh(va))), 247); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a), 21);
    }
}

// ---- views ----

TEST_CASE("autograd views: prefix, slice, select, transpose and reshape pass gradcheck inside non-linear functions") {
    auto x = random<double>(extents<3, 7>{}, 250, -2.0, 2.0);
    auto x3 = random<double>(extents<2, 3, 4>{}, 251, -2.0, 2.0);
    SUBCASE("prefix<K> on the last axis") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::tanh(ag::prefix<3>(v)), 252); }, x), 21);
    }
    SUBCASE("prefix(x, k) on the last axis") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::square(ag::prefix(v, 5)), 253); }, x), 21);
    }
    SUBCASE("prefix(x, constant<K>{})") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::gelu(ag::prefix(v, constant<1>{})), 254); }, x), 21);
    }
    SUBCASE("prefix along axis 0, static and dynamic") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::tanh(ag::prefix<2, 0>(v)), 255); }, x), 21);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::log_softmax(ag::prefix(v, 2, 0)), 256); }, x), 21);
    }
    SUBCASE("slice in the middle of an axis") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::softmax(ag::slice(v, 1, 2, 5)), 257); }, x), 21);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::tanh(ag::slice(v, 0, 1, 2)), 258); }, x3), 24);
    }
    SUBCASE("select<1> (the CLS rows) of a rank-3 value") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::l2_normalize(ag::select<1>(v, 0)), 259); }, x3), 24);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::exp(ag::select<2>(v, 3)), 260); }, x3), 24);
    }
    SUBCASE("transpose") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::log_softmax(ag::transpose<0, 1>(v)), 261); }, x), 21);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::softmax(ag::transpose<0, 2>(v)), 262); }, x3), 24);
    }
    SUBCASE("reshape") {
        auto x6 = random<double>(extents<2, 6>{}, 263, -2.0, 2.0);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::softmax(ag::reshape(v, extents<3, 4>{})), 264); }, x6), 12);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::log_softmax(ag::reshape(v, extents<dyn, 2>(6))), 265); }, x6), 12);
    }
    SUBCASE("views of computed values and views of views") {
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::square(ag::prefix(ag::tanh(v), 4)), 266); }, x), 21);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::tanh(ag::prefix<2>(ag::transpose<0, 1>(v))), 267); }, x), 21);
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck([](const auto& v) { return weighted_sum(ag::square(ag::select<0>(ag::slice(ag::transpose<1, 2>(v), 1, 1, 3), 1)), 268); }, x3), 24);
    }
    SUBCASE("two overlapping views of one leaf combined") {
        auto f = [](const auto& v) { return weighted_sum(ag::mul(ag::prefix<3>(v), ag::slice(v, 1, 2, 5)), 269); };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x), 21);
    }
}

TEST_CASE("autograd contiguous: a copy of a transposed view passes gradcheck and is contiguous") {
    auto x = random<double>(extents<3, 4, 5>{}, 900);
    auto f = [](const auto& v) {
        auto c = ag::contiguous(ag::transpose<0, 2>(v)); // (5, 4, 3) dense copy of a strided view
        CHECK(c.value().is_contiguous());
        return weighted_sum(ag::tanh(ag::reshape(c, extents<20, 3>{})), 901);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x), x.size());
}

} }  // namespace test_functions_gradcheck
