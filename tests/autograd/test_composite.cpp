// SPDX-License-Identifier: Apache-2.0
// A two-layer attention encoder with a Starbucks-style multi-target loss, differentiated end to end.
#include "testing.hpp"

#include "autograd_testing.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_composite {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;

namespace {

// Tiny on purpose: gradcheck runs two forward passes per checked element.
constexpr std::size_t batch = 4, tokens = 3, width = 4, ffn = 5;
using x_extents = extents<batch, tokens, width>;
using vec = extents<width>;
using square_weight = extents<width, width>;

/// The weights of one encoder layer, as plain tensors.
struct layer_params {
    tensor<double, square_weight> wq, wk, wv, wo;
    tensor<double, vec> bq, bk, bv, bo, gamma1, beta1, gamma2, beta2, b2;
    tensor<double, extents<ffn, width>> w1;
    tensor<double, extents<ffn>> b1;
    tensor<double, extents<width, ffn>> w2;
};

/// The same weights as autograd leaves.
struct layer_vars {
    ag::var<double, square_weight> wq, wk, wv, wo;
    ag::var<double, vec> bq, bk, bv, bo, gamma1, beta1, gamma2, beta2, b2;
    ag::var<double, extents<ffn, width>> w1;
    ag::var<double, extents<ffn>> b1;
    ag::var<double, extents<width, ffn>> w2;
};

layer_params make_params(std::uint64_t seed) {
    layer_params p;
    auto next = [&] { return seed++; };
    p.wq = random<double>(square_weight{}, next(), -0.8, 0.8);
    p.wk = random<double>(square_weight{}, next(), -0.8, 0.8);
    p.wv = random<double>(square_weight{}, next(), -0.8, 0.8);
    p.wo = random<double>(square_weight{}, next(), -0.8, 0.8);
    p.bq = random<double>(vec{}, next(), -0.1, 0.1);
    p.bk = random<double>(vec{}, next(), -0.1, 0.1);
    p.bv = random<double>(vec{}, next(), -0.1, 0.1);
    p.bo = random<double>(vec{}, next(), -0.1, 0.1);
    p.gamma1 = random<double>(vec{}, next(), 0.8, 1.2);
    p.beta1 = random<double>(vec{}, next(), -0.1, 0.1);
    p.gamma2 = random<double>(vec{}, next(), 0.8, 1.2);
    p.beta2 = random<double>(vec{}, next(), -0.1, 0.1);
    p.b2 = random<double>(vec{}, next(), -0.1, 0.1);
    p.w1 = random<double>(extents<ffn, width>{}, next(), -0.8, 0.8);
    p.b1 = random<double>(extents<ffn>{}, next(), -0.1, 0.1);
    p.w2 = random<double>(extents<width, ffn>{}, next(), -0.8, 0.8);
    return p;
}

layer_vars as_parameters(const layer_params& p) {
    return layer_vars{ag::parameter(p.wq),     ag::parameter(p.wk),    ag::parameter(p.wv),     ag::parameter(p.wo),
                      ag::parameter(p.bq),     ag::parameter(p.bk),    ag::parameter(p.bv),     ag::parameter(p.bo),
                      ag::parameter(p.gamma1), ag::parameter(p.beta1), ag::parameter(p.gamma2), ag::parameter(p.beta2),
                      ag::parameter(p.b2),     ag::parameter(p.w1),    ag::parameter(p.b1),     ag::parameter(p.w2)};
}

/// Padding mask (B, T): sequence lengths 3, 2, 3, 1.
tensor<double, extents<batch, tokens>> padding_mask() {
    tensor<double, extents<batch, tokens>> m;
    const std::size_t lengths[batch] = {3, 2, 3, 1};
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t t = 0; t < lengths[b]; ++t) m(b, t) = 1.0;
    return m;
}

/// The additive attention mask (B, 1, T): 0 on tokens, -1e9 on padding.
tensor<double, extents<batch, 1, tokens>> additive_mask(const tensor<double, extents<batch, tokens>>& pad) {
    tensor<double, extents<batch, 1, tokens>> m;
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t t = 0; t < tokens; ++t) m(b, 0, t) = pad(b, t) == 0.0 ? -1e9 : 0.0;
    return m;
}

/// One post-norm encoder layer: single-head attention with a padding mask, then a GELU FFN.
template <class VX, class VM>
auto encoder_layer(const VX& x, const VM& mask, const layer_vars& l) {
    auto q = ag::add(ag::matmul_nt(x, l.wq), l.bq);                                    // (B, T, C)
    auto k = ag::add(ag::matmul_nt(x, l.wk), l.bk);                                    // (B, T, C)
    auto v = ag::add(ag::matmul_nt(x, l.wv), l.bv);                                    // (B, T, C)
    auto scores = ag::scale(ag::matmul<false, true>(q, k), 1.0 / std::sqrt(double(width))); // (B, T, T)
    auto p = ag::softmax(scores, mask);                                                // (B, T, T)
    auto ctx = ag::matmul(p, v);                                                       // (B, T, C)
    auto h = ag::layer_norm(ag::add(x, ag::add(ag::matmul_nt(ctx, l.wo), l.bo)), l.gamma1, l.beta1, 1e-5);
    auto ff = ag::add(ag::matmul_nt(ag::gelu(ag::add(ag::matmul_nt(h, l.w1), l.b1)), l.w2), l.b2); // (B, T, C)
    return ag::layer_norm(ag::add(h, ff), l.gamma2, l.beta2, 1e-5);
}

/// The loss of one (layer, dims) target: in-batch contrastive cross-entropy between the two
/// halves of the batch on the first d dims, plus 0.3 KL between the halves' distributions.
template <class VH>
auto pair_term(const VH& h, const tensor<double, extents<batch, tokens>>& pad, std::size_t d) {
    constexpr std::size_t half = batch / 2;
    auto pooled = ag::masked_mean(h, pad);                                              // (B, C)
    auto z = ag::l2_normalize(ag::prefix(pooled, d));                                   // (B, d)
    auto sim = ag::scale(ag::cosine_similarity(ag::slice(z, 0, 0, half), ag::slice(z, 0, half, batch)), 5.0); // (B/2, B/2)
    tensor<std::int64_t, extents<half>> diagonal;
    for (std::size_t i = 0; i < half; ++i) diagonal(i) = static_cast<std::int64_t>(i);
    auto ce = ag::cross_entropy(sim, diagonal);
    auto f1 = ag::slice(pooled, 0, 0, half);                                            // (B/2, C)
    auto f2 = ag::slice(pooled, 0, half, batch);                                        // (B/2, C)
    auto kl = ag::kl_div(ag::log_softmax(ag::prefix(f2, d)), ag::log_softmax(ag::prefix(f1, d)));
    return ag::add(ce, ag::scale(kl, 0.3));
}

/// Hidden states of both layers for input x.
template <class VX>
auto encode(const VX& x, const tensor<double, extents<batch, tokens>>& pad, const layer_vars& l1, const layer_vars& l2) {
    auto mask = ag::constant_input(additive_mask(pad));
    auto h1 = encoder_layer(x, mask, l1);
    auto h2 = encoder_layer(h1, mask, l2);
    return std::pair{h1, h2};
}

/// The targets (layer 1, 2 dims) and (layer 2, 4 dims), summed.
template <class VX>
auto multi_target_loss(const VX& x, const tensor<double, extents<batch, tokens>>& pad, const layer_vars& l1,
                       const layer_vars& l2) {
    auto [h1, h2] = encode(x, pad, l1, l2);
    return ag::add(pair_term(h1, pad, 2), pair_term(h2, pad, 4));
}

/// A leaf's gradient as a vector, zeros when the pass never reached it.
template <class V>
std::vector<double> grad_or_zero(const V& v) {
    return v.has_grad() ? starbucks::testing::flat(v.grad()) : std::vector<double>(v.size(), 0.0);
}

struct fixture {
    tensor<double, x_extents> x = random<double>(x_extents{}, 500);
    layer_params p1 = make_params(600);
    layer_params p2 = make_params(700);
    tensor<double, extents<batch, tokens>> pad = padding_mask();
};

} // namespace

TEST_CASE("attention block: the multi-target loss passes gradcheck for x and weights of both layers") {
    fixture fx;
    auto f = [&](const auto& x, const auto& wq1, const auto& w1_2, const auto& gamma2_2) {
        auto l1 = as_parameters(fx.p1);
        auto l2 = as_parameters(fx.p2);
        l1.wq = wq1;
        l2.w1 = w1_2;
        l2.gamma2 = gamma2_2;
        return multi_target_loss(x, fx.pad, l1, l2);
    };
    const auto r = ag::gradcheck(f, fx.x, fx.p1.wq, fx.p2.w1, fx.p2.gamma2);
    STARBUCKS_CHECK_GRADCHECK(r, fx.x.size() + fx.p1.wq.size() + fx.p2.w1.size() + fx.p2.gamma2.size());
}

TEST_CASE("attention block: each target alone passes gradcheck for x") {
    fixture fx;
    SUBCASE("layer 1, 2 dims") {
        auto f = [&](const auto& x) {
            auto [h1, h2] = encode(x, fx.pad, as_parameters(fx.p1), as_parameters(fx.p2));
            return pair_term(h1, fx.pad, 2);
        };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, fx.x), fx.x.size());
    }
    SUBCASE("layer 2, 4 dims, checked for the layer-2 attention weights") {
        auto f = [&](const auto& wk, const auto& wo) {
            auto l2 = as_parameters(fx.p2);
            l2.wk = wk;
            l2.wo = wo;
            auto [h1, h2] = encode(ag::constant_input(fx.x), fx.pad, as_parameters(fx.p1), l2);
            return pair_term(h2, fx.pad, 4);
        };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, fx.p2.wk, fx.p2.wo), 32);
    }
}

TEST_CASE("attention block: padded tokens get exactly zero gradient, real tokens do not") {
    fixture fx;
    auto x = ag::parameter(fx.x);
    ag::tape t;
    {
        auto on = t.activate();
        auto loss = multi_target_loss(x, fx.pad, as_parameters(fx.p1), as_parameters(fx.p2));
        REQUIRE(std::isfinite(loss.value()()));
        t.backward({loss});
    }
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t tok = 0; tok < tokens; ++tok) {
            double norm = 0;
            for (std::size_t c = 0; c < width; ++c) norm += std::abs(x.grad()(b, tok, c));
            if (fx.pad(b, tok) == 0.0) CHECK(norm == 0.0);
            else CHECK(norm > 0.0);
        }
}

TEST_CASE("attention block: the gradient of the multi-target sum equals the sum of per-target gradients") {
    fixture fx;
    // The total on one tape.
    auto x = ag::parameter(fx.x);
    auto l1 = as_parameters(fx.p1);
    auto l2 = as_parameters(fx.p2);
    ag::tape t;
    auto on = t.activate();
    auto [h1, h2] = encode(x, fx.pad, l1, l2);
    auto term1 = pair_term(h1, fx.pad, 2);
    auto term2 = pair_term(h2, fx.pad, 4);
    auto total = ag::add(term1, term2);
    t.backward({total});
    const auto gx = grad_or_zero(x), gwq1 = grad_or_zero(l1.wq), gw1_2 = grad_or_zero(l2.w1), gg1 = grad_or_zero(l1.gamma1);

    SUBCASE("seeding both terms on the same tape is bitwise the backward of their sum") {
        x.zero_grad();
        l1.wq.zero_grad();
        l2.w1.zero_grad();
        l1.gamma1.zero_grad();
        t.backward({term1 * 1.0, term2 * 1.0});
        CHECK(starbucks::testing::bitwise_equal(grad_or_zero(x), gx));
        CHECK(starbucks::testing::bitwise_equal(grad_or_zero(l1.wq), gwq1));
        CHECK(starbucks::testing::bitwise_equal(grad_or_zero(l2.w1), gw1_2));
        CHECK(starbucks::testing::bitwise_equal(grad_or_zero(l1.gamma1), gg1));
    }
    SUBCASE("separate passes, one tape and fresh leaves per target, add up to the total") {
        std::vector<double> sx(gx.size(), 0.0), swq1(gwq1.size(), 0.0), sw1_2(gw1_2.size(), 0.0), sg1(gg1.size(), 0.0);
        for (int target = 0; target < 2; ++target) {
            auto px = ag::parameter(fx.x);
            auto p1 = as_parameters(fx.p1);
            auto p2 = as_parameters(fx.p2);
            ag::tape own;
            auto own_on = own.activate();
            auto [g1, g2] = encode(px, fx.pad, p1, p2);
            own.backward({target == 0 ? pair_term(g1, fx.pad, 2) : pair_term(g2, fx.pad, 4)});
            auto add_into = [](std::vector<double>& acc, const std::vector<double>& g) {
                for (std::size_t i = 0; i < acc.size(); ++i) acc[i] += g[i];
            };
            add_into(sx, grad_or_zero(px));
            add_into(swq1, grad_or_zero(p1.wq));
            add_into(sw1_2, grad_or_zero(p2.w1));
            add_into(sg1, grad_or_zero(p1.gamma1));
            if (target == 0) CHECK_FALSE(p2.w1.has_grad()); // layer 2 plays no part in the first target
        }
        // Separate passes add the two contributions in another order: equal up to rounding.
        auto close = [](const std::vector<double>& a, const std::vector<double>& b) {
            double m = 0, scale = 0;
            for (std::size_t i = 0; i < a.size(); ++i) {
                m = std::max(m, std::abs(a[i] - b[i]));
                scale = std::max(scale, std::abs(b[i]));
            }
            INFO("max difference " << m << " at gradient scale " << scale);
            CHECK(scale > 0.0);
            return m <= 1e-12 * std::max(scale, 1.0);
        };
        CHECK(close(sx, gx));
        CHECK(close(swq1, gwq1));
        CHECK(close(sw1_2, gw1_2));
        CHECK(close(sg1, gg1));
    }
}

} }  // namespace test_composite
