// SPDX-License-Identifier: Apache-2.0
// backend::reference checked against values computed by hand or by an independent formula.
#include "testing.hpp"

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_reference {

using namespace starbucks;
using starbucks::testing::random;

TEST_CASE("reference: gemm with transposes, batch strides and beta matches a naive triple loop") {
    using B = backend::reference;
    auto a = random<double>(extents<2, 3, 4>{}, 1); // batch 2 of (3, 4)
    auto b = random<double>(extents<2, 5, 4>{}, 2); // batch 2 of (5, 4), used transposed
    auto c = random<double>(extents<2, 3, 5>{}, 3);
    auto expected = c;
    for (int bt = 0; bt < 2; ++bt)
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 5; ++j) {
                double s = 0;
                for (int k = 0; k < 4; ++k) s += a(bt, i, k) * b(bt, j, k);
                expected(bt, i, j) = 2.0 * s + 0.5 * c(bt, i, j);
            }
    backend::gemm_args<double> g;
    g.batch = 2;
    g.m = 3;
    g.n = 5;
    g.k = 4;
    g.trans_b = true;
    g.a = a.data();
    g.lda = 4;
    g.stride_a = 12;
    g.b = b.data();
    g.ldb = 4;
    g.stride_b = 20;
    g.c = c.data();
    g.ldc = 5;
    g.stride_c = 15;
    g.alpha = 2.0;
    g.beta = 0.5;
    B::gemm(B::default_context(), g);
    CHECK(starbucks::testing::max_abs_diff(c, expected) < 1e-14);
}

TEST_CASE("reference: gemm with beta 0 ignores NaN already in the output") {
    using B = backend::reference;
    auto a = full<float>(extents<2, 2>{}, 1.0f);
    auto c = full<float>(extents<2, 2>{}, std::numeric_limits<float>::quiet_NaN());
    backend::gemm_args<float> g;
    g.m = g.n = g.k = 2;
    g.a = g.b = a.data();
    g.lda = g.ldb = g.ldc = 2;
    g.c = c.data();
    B::gemm(B::default_context(), g);
    CHECK(c(0, 0) == 2.0f);
    CHECK(c(1, 1) == 2.0f);
}

TEST_CASE("reference: GELU is the erf form, tanh and exp agree with <cmath>") {
    const double xs[] = {-3.0, -1.0, -0.1, 0.0, 0.5, 2.0};
    for (double x : xs) {
        tensor<double, extents<1>> t;
        t(0) = x;
        CHECK(gelu(t)(0) == doctest::Approx(0.5 * x * (1 + std::erf(x / std::sqrt(2.0)))).epsilon(1e-15));
        CHECK(starbucks::tanh(t)(0) == doctest::Approx(std::tanh(x)).epsilon(1e-15));
        CHECK(starbucks::exp(t)(0) == doctest::Approx(std::exp(x)).epsilon(1e-15));
    }
    // Published value: GELU(1) = 0.8413447460685429 (1 * Phi(1)).
    tensor<double, extents<1>> one;
    one(0) = 1.0;
    CHECK(gelu(one)(0) == doctest::Approx(0.8413447460685429).epsilon(1e-15));
}

TEST_CASE("reference: softmax rows sum to one, log-softmax equals log of softmax, all -inf rows stay finite") {
    auto x = random<double>(extents<3, 7>{}, 4, -5.0, 5.0);
    x(2, 0) = 1000.0; // max-shifting keeps a huge logit finite
    auto s = softmax(x);
    auto ls = log_softmax(x);
    for (int r = 0; r < 3; ++r) {
        double total = 0;
        for (int c = 0; c < 7; ++c) {
            total += s(r, c);
            CHECK(std::exp(ls(r, c)) == doctest::Approx(s(r, c)).epsilon(1e-12));
        }
        CHECK(total == doctest::Approx(1.0).epsilon(1e-14));
    }
    auto masked = full<double>(extents<1, 4>{}, -std::numeric_limits<double>::infinity());
    auto sm = softmax(masked);
    auto lse = logsumexp(masked);
    CHECK(sm(0, 0) == 0.0);
    CHECK(lse(0) == -std::numeric_limits<double>::infinity());
}

TEST_CASE("reference: layer norm gives zero mean and unit variance before the affine map") {
    auto x = random<double>(extents<4, 33>{}, 5, -3.0, 3.0);
    auto gamma = full<double>(extents<33>{}, 1.0);
    auto beta = zeros<double>(extents<33>{});
    auto y = layer_norm(x, gamma, beta, 1e-12);
    for (int r = 0; r < 4; ++r) {
        double m = 0, v = 0;
        for (int c = 0; c < 33; ++c) m += y(r, c);
        m /= 33;
        for (int c = 0; c < 33; ++c) v += (y(r, c) - m) * (y(r, c) - m);
        CHECK(std::abs(m) < 1e-12);
        CHECK(v / 33 == doctest::Approx(1.0).epsilon(1e-10));
    }
}

TEST_CASE("reference: cross-entropy and KL divergence match their definitions") {
    tensor<double, extents<3, 4>> logits;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) logits(r, c) = 0.3 * r - 0.7 * c + 0.1 * r * c;
    tensor<std::int64_t, extents<3>> labels;
    labels(0) = 2;
    labels(1) = ignore_index_default;
    labels(2) = 0;
    auto lse = logsumexp(logits);
    const double expected = ((lse(0) - logits(0, 2)) + (lse(2) - logits(2, 0))) / 2;
    CHECK(cross_entropy(logits, labels)() == doctest::Approx(expected).epsilon(1e-14));

    auto lq = log_softmax(logits);
    auto lp = log_softmax(scale(logits, 0.5));
    double kl = 0;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) kl += std::exp(lp(r, c)) * (lp(r, c) - lq(r, c));
    CHECK(kl_div(lq, lp)() == doctest::Approx(kl / 3).epsilon(1e-14));
    CHECK(kl_div(lq, lq)() == doctest::Approx(0.0));
}

TEST_CASE("reference: masked mean ignores padding and matches sentence-transformers' clamp") {
    tensor<double, extents<2, 3, 2>> x;
    for (int b = 0; b < 2; ++b)
        for (int t = 0; t < 3; ++t)
            for (int c = 0; c < 2; ++c) x(b, t, c) = b * 10 + t + 0.5 * c;
    tensor<double, extents<2, 3>> mask;
    mask(0, 0) = mask(0, 1) = 1; // first sequence has 2 tokens
    auto y = masked_mean(x, mask);
    CHECK(y(0, 0) == doctest::Approx(0.5));
    CHECK(y(0, 1) == doctest::Approx(1.0));
    CHECK(y(1, 0) == 0.0); // no tokens: 0 / 1e-9
}

TEST_CASE("reference: dropout keeps elements with probability 1 - p and scales them") {
    auto x = full<double>(extents<dyn>(20000), 1.0);
    auto r = dropout(x, 0.25, rng_stream{7, 1});
    std::size_t kept = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double v = r.y.data()[i];
        CHECK((v == 0.0 || v == doctest::Approx(1.0 / 0.75)));
        kept += v != 0.0;
    }
    // Binomial(20000, 0.75): mean 15000, sd ~61; 6 sd bounds.
    CHECK(kept > 15000 - 370);
    CHECK(kept < 15000 + 370);
    auto none = dropout(x, 1.0, rng_stream{7, 1});
    CHECK(sum(none.y)() == 0.0);
}

TEST_CASE("reference: AdamW step equals torch.optim.AdamW's update rule") {
    using B = backend::reference;
    double p = 0.5, g = 0.2, m = 0, v = 0;
    backend::adamw_args a{0.1, 0.9, 0.999, 1e-8, 0.01, 1};
    B::adamw(B::default_context(), 1, a, &p, &g, &m, &v);
    // Step 1: m = 0.02, v = 4e-5, mhat = 0.2, vhat = 0.04; p = 0.5 * (1 - 0.001) - 0.1 * 0.2 / (0.2 + 1e-8).
    CHECK(p == doctest::Approx(0.5 * 0.999 - 0.1 * 0.2 / (0.2 + 1e-8)).epsilon(1e-14));
    CHECK(m == doctest::Approx(0.02));
    CHECK(v == doctest::Approx(4e-5));
}

TEST_CASE("reference: embedding gather rejects an out-of-range id with its position") {
    auto table = random<float>(extents<5, 3>{}, 8);
    tensor<std::int64_t, extents<3>> ids;
    ids(0) = 1;
    ids(1) = 5;
    const auto msg = starbucks::testing::error_message([&] { (void)embedding(table, ids); });
    CHECK(msg == "starbucks::gather_rows: index 5 at position 1 is outside [0, 5)");
}

TEST_CASE("host_pool: a repeated training step takes no new memory from the OS after warm-up") {
    auto& pool = backend::host_pool::instance();
    if (!pool.enabled()) return; // STARBUCKS_NO_POOL=1 (sanitizer runs): nothing is pooled
    auto x0 = random<float>(extents<dyn, 256>(64), 30);
    auto w = autograd::parameter(random<float>(extents<512, 256>{}, 31));
    auto step = [&] {
        autograd::tape tape;
        auto on = tape.activate();
        auto h = autograd::gelu(autograd::matmul_nt(autograd::constant_input(x0), w)); // (64, 512): 128 KiB
        tape.backward({autograd::mean(autograd::square(h))});
    };
    step();
    step();
    const std::size_t warm = pool.os_allocations();
    step();
    step();
    CHECK(pool.os_allocations() == warm);
    CHECK(pool.reuses() > 0);
}

TEST_CASE("host_pool: blocks come back 64-byte aligned and are reused only at their exact size") {
    auto& pool = backend::host_pool::instance();
    if (!pool.enabled()) return;
    void* a = pool.allocate(1 << 17);
    CHECK(reinterpret_cast<std::uintptr_t>(a) % 64 == 0);
    pool.deallocate(a, 1 << 17);
    void* b = pool.allocate((1 << 17) + 64); // a different size never gets a smaller block
    CHECK(b != a);
    void* c = pool.allocate(1 << 17);
    CHECK(c == a);
    pool.deallocate(b, (1 << 17) + 64);
    pool.deallocate(c, 1 << 17);
}

TEST_CASE("host_pool: over the cap, older cached sizes make room for the block being freed") {
    auto& pool = backend::host_pool::instance();
    if (!pool.enabled()) return;
    pool.release();
    const std::size_t saved_limit = pool.limit_bytes();
    pool.set_limit_bytes(8u << 20);
    // Fill the cache to its 8 MiB cap with blocks of one size, then free a block of a new size:
    // old blocks go back to the OS and the new one is cached (reused on the next request).
    std::vector<void*> old_blocks;
    for (int i = 0; i < 8; ++i) old_blocks.push_back(pool.allocate(1 << 20));
    for (void* p : old_blocks) pool.deallocate(p, 1 << 20);
    CHECK(pool.cached_bytes() == 8u << 20);
    void* fresh = pool.allocate(3 << 20);
    pool.deallocate(fresh, 3 << 20);
    CHECK(pool.cached_bytes() == 8u << 20); // 5 old blocks + the new one
    const std::size_t reuses = pool.reuses();
    CHECK(pool.allocate(3 << 20) == fresh);
    CHECK(pool.reuses() == reuses + 1); // served from the cache, not by the OS
    pool.deallocate(fresh, 3 << 20);
    pool.release();
    CHECK(pool.cached_bytes() == 0);
    pool.set_limit_bytes(saved_limit);
}

} }  // namespace test_reference
