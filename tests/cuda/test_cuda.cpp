// SPDX-License-Identifier: Apache-2.0
// The `cuda` suite: every op of backend::cuda, forward and backward, against backend::reference
// on the same inputs, at the CPU suite's tolerance; the caching allocator on the device; and
// what a machine without a GPU gets. Builds wherever nvcc does; without a GPU the device cases
// print "no CUDA device: skipped" and ctest reports them as skipped.
#include "testing.hpp"

#include <starbucks/backend/cuda/cuda.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

namespace { namespace test_cuda {

using namespace starbucks;
using backend::cuda;
using ref = backend::reference;
namespace cd = backend::cuda_detail;

// The CPU suite's f32 normwise relative bound: reassociated sums (block reductions, cuBLAS's
// blocking, atomics) and CUDA's own exp/erf stay well inside it at these sizes.
constexpr double f32_tolerance = 1e-5;

bool gpu_present() {
    static const bool yes = cd::device_count() > 0;
    return yes;
}

#define STARBUCKS_REQUIRE_GPU()                                                                               \
    if (!gpu_present()) {                                                                                     \
        std::printf("no CUDA device: skipped\n");                                                             \
        return;                                                                                               \
    }

/// Host values in [lo, hi) from the reference Philox stream.
std::vector<float> host_random(std::size_t n, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> v(n);
    ref::fill_uniform(ref::default_context(), n, rng_stream{seed, 0}, lo, hi, v.data());
    return v;
}

/// A device copy of host values, freed with the object.
template <class T>
struct device_buffer {
    T* p = nullptr;
    std::size_t n = 0;
    explicit device_buffer(std::size_t count) : p(static_cast<T*>(cuda::allocate(count * sizeof(T)))), n(count) {}
    explicit device_buffer(const std::vector<T>& host) : device_buffer(host.size()) {
        cuda::upload(cuda::default_context(), p, host.data(), n * sizeof(T));
    }
    ~device_buffer() { cuda::deallocate(p, n * sizeof(T)); }
    device_buffer(const device_buffer&) = delete;
    device_buffer& operator=(const device_buffer&) = delete;
    std::vector<T> host() const {
        std::vector<T> h(n);
        cuda::download(cuda::default_context(), h.data(), p, n * sizeof(T));
        return h;
    }
};

/// ||got - want|| / ||want|| over host vectors.
double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
    REQUIRE(got.size() == want.size());
    double num = 0, den = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double d = double(got[i]) - double(want[i]);
        num += d * d;
        den += double(want[i]) * double(want[i]);
    }
    return std::sqrt(num / (den > 1e-300 ? den : 1e-300));
}

cuda::context& ctx() { return cuda::default_context(); }
ref::context& rctx() { return ref::default_context(); }

void check_gemm(bool ta, bool tb, std::size_t batch, std::size_t m, std::size_t n, std::size_t k, bool shared_b,
                bool bias, bool residual, bool gelu, float beta, bool bf16_operands) {
    const std::size_t sa = m * k, sb = shared_b ? 0 : k * n, sc = m * n;
    auto a = host_random(batch * sa, 1), b = host_random(shared_b ? k * n : batch * k * n, 2);
    auto c = host_random(batch * sc, 3), r = host_random(batch * sc, 4), bi = host_random(n, 5);
    backend::gemm_args<float> g;
    g.batch = batch, g.m = m, g.n = n, g.k = k, g.trans_a = ta, g.trans_b = tb;
    g.lda = std::ptrdiff_t(ta ? m : k), g.ldb = std::ptrdiff_t(tb ? k : n), g.ldc = std::ptrdiff_t(n);
    g.stride_a = std::ptrdiff_t(sa), g.stride_b = std::ptrdiff_t(sb), g.stride_c = std::ptrdiff_t(sc);
    g.alpha = 0.75f, g.beta = beta, g.bf16_operands = bf16_operands;
    g.epilogue.activation = gelu ? backend::gemm_activation::gelu : backend::gemm_activation::none;
    std::vector<float> want = c;
    auto gh = g;
    gh.a = a.data(), gh.b = b.data(), gh.c = want.data();
    gh.epilogue.bias = bias ? bi.data() : nullptr;
    gh.epilogue.residual = residual ? r.data() : nullptr;
    ref::gemm(rctx(), gh);

    device_buffer<float> da(a), db(b), dc(c), dr(r), dbias(bi);
    auto gd = g;
    gd.a = da.p, gd.b = db.p, gd.c = dc.p;
    gd.epilogue.bias = bias ? dbias.p : nullptr;
    gd.epilogue.residual = residual ? dr.p : nullptr;
    cuda::gemm(ctx(), gd);
    INFO("ta=" << ta << " tb=" << tb << " batch=" << batch << " m=" << m << " n=" << n << " k=" << k << " shared_b="
               << shared_b << " bias=" << bias << " residual=" << residual << " gelu=" << gelu << " beta=" << beta
               << " bf16=" << bf16_operands);
    CHECK(relative_error(dc.host(), want) <= f32_tolerance);
}

TEST_CASE("cuda: without a GPU the first use is a resource_error naming cudaGetDeviceCount, and with one the build architectures are reported") {
    if (gpu_present()) {
        const cd::device_info d = cd::info(cuda::default_context());
        CHECK(d.major >= 9);
        CHECK(d.compiled_architectures.find("90") != std::string::npos);
        std::printf("device %d: %s, compute capability %d.%d, %d SMs; compiled for %s\n", d.ordinal, d.name.c_str(),
                    d.major, d.minor, d.multiprocessors, d.compiled_architectures.c_str());
        return;
    }
    std::string why;
    CHECK(cd::device_count(&why) == 0);
    CHECK(!why.empty());
    // Every entry point says the same, every time: a failed start is not cached as a broken state.
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            cuda::default_context();
            FAIL("default_context() returned without a GPU");
        } catch (const resource_error& e) {
            const std::string what = e.what();
            CHECK(what.find("starbucks::backend::cuda") != std::string::npos);
            CHECK(what.find("no CUDA device: cudaGetDeviceCount") != std::string::npos);
            CHECK(e.kind() == error_kind::resource);
        }
    }
    CHECK_THROWS_AS((tensor<float, extents<dyn>, cuda>(extents<dyn>(4))), resource_error);
}

TEST_CASE("cuda: gemm matches reference for odd sizes and every transpose") {
    STARBUCKS_REQUIRE_GPU();
    const std::size_t sizes[] = {1, 3, 7, 33, 129};
    for (std::size_t m : sizes)
        for (std::size_t k : sizes)
            for (std::size_t n : {std::size_t{1}, std::size_t{17}, std::size_t{64}})
                for (int t = 0; t < 4; ++t) check_gemm(t & 1, t & 2, 1, m, n, k, false, false, false, false, 0.0f, false);
}

TEST_CASE("cuda: batched, shared-weight gemm with bias, residual, GELU and beta matches reference") {
    STARBUCKS_REQUIRE_GPU();
    for (int t = 0; t < 4; ++t) {
        check_gemm(t & 1, t & 2, 3, 33, 65, 31, false, false, false, false, 0.0f, false);
        check_gemm(t & 1, t & 2, 4, 16, 48, 96, true, true, false, false, 0.0f, false);
        check_gemm(t & 1, t & 2, 2, 20, 40, 24, false, true, true, true, 0.0f, false);
        check_gemm(t & 1, t & 2, 2, 20, 40, 24, false, true, true, false, 0.5f, false);
        check_gemm(t & 1, t & 2, 1, 9, 13, 0, false, true, true, true, 0.5f, false); // k = 0
    }
}

TEST_CASE("cuda: gemm on bf16-rounded operands accumulates in f32 and matches reference") {
    STARBUCKS_REQUIRE_GPU();
    for (int t = 0; t < 4; ++t) {
        check_gemm(t & 1, t & 2, 1, 128, 384, 384, false, true, false, true, 0.0f, true);
        check_gemm(t & 1, t & 2, 3, 7, 33, 129, true, false, true, false, 0.0f, true);
    }
    // bf16 tensors as operands (T = bf16, result float): the same products.
    const std::size_t m = 64, n = 96, k = 80;
    auto a = host_random(m * k, 6), b = host_random(k * n, 7);
    std::vector<bf16> a16(a.size()), b16(b.size());
    for (std::size_t i = 0; i < a.size(); ++i) a16[i] = bf16(a[i]);
    for (std::size_t i = 0; i < b.size(); ++i) b16[i] = bf16(b[i]);
    std::vector<float> want(m * n);
    backend::gemm_args<bf16, float> g;
    g.m = m, g.n = n, g.k = k, g.lda = std::ptrdiff_t(k), g.ldb = std::ptrdiff_t(n), g.ldc = std::ptrdiff_t(n);
    auto gh = g;
    gh.a = a16.data(), gh.b = b16.data(), gh.c = want.data();
    ref::gemm(rctx(), gh);
    device_buffer<bf16> da(a16), db(b16);
    device_buffer<float> dc(m * n);
    auto gd = g;
    gd.a = da.p, gd.b = db.p, gd.c = dc.p;
    cuda::gemm(ctx(), gd);
    CHECK(relative_error(dc.host(), want) <= f32_tolerance);
}

TEST_CASE("cuda: element-wise functions and their derivatives match reference") {
    STARBUCKS_REQUIRE_GPU();
    const std::size_t n = 10007;
    using backend::unary_op;
    for (unary_op op : {unary_op::neg, unary_op::exp, unary_op::log, unary_op::tanh, unary_op::gelu, unary_op::square,
                        unary_op::sqrt, unary_op::scale}) {
        const bool positive = op == unary_op::log || op == unary_op::sqrt;
        auto x = host_random(n, 10, positive ? 0.1f : -3.0f, 3.0f), dy = host_random(n, 11), dx0 = host_random(n, 12);
        std::vector<float> y(n), dx = dx0;
        ref::unary(rctx(), op, n, x.data(), y.data(), 0.3f);
        ref::unary_backward(rctx(), op, n, x.data(), y.data(), dy.data(), dx.data(), 0.3f);
        device_buffer<float> dx_(x), dy_(n), ddy(dy), ddx(dx0);
        cuda::unary(ctx(), op, n, dx_.p, dy_.p, 0.3f);
        cuda::unary_backward(ctx(), op, n, dx_.p, dy_.p, ddy.p, ddx.p, 0.3f);
        INFO("op " << backend::to_string(op));
        CHECK(relative_error(dy_.host(), y) <= f32_tolerance);
        CHECK(relative_error(ddx.host(), dx) <= f32_tolerance);
    }
}

TEST_CASE("cuda: broadcast binary ops, strided copies, reducing accumulation, fills and conversions match reference") {
    STARBUCKS_REQUIRE_GPU();
    // out (4, 5, 6) = a (4, 1, 6) op b (5, 6): broadcast on both sides.
    layout lo{shape{4, 5, 6}, {30, 6, 1}}, la{shape{4, 5, 6}, {6, 0, 1}}, lb{shape{4, 5, 6}, {0, 6, 1}};
    auto a = host_random(24, 20), b = host_random(30, 21, 0.5f, 2.0f), out0 = host_random(120, 22);
    using backend::binary_op;
    for (binary_op op : {binary_op::add, binary_op::sub, binary_op::mul, binary_op::div})
        for (bool acc : {false, true}) {
            std::vector<float> want = out0;
            ref::binary(rctx(), op, backend::strided<float>{want.data(), lo}, backend::strided<const float>{a.data(), la},
                        backend::strided<const float>{b.data(), lb}, acc);
            device_buffer<float> da(a), db(b), dout(out0);
            cuda::binary(ctx(), op, backend::strided<float>{dout.p, lo}, backend::strided<const float>{da.p, la},
                         backend::strided<const float>{db.p, lb}, acc);
            CHECK(relative_error(dout.host(), want) <= f32_tolerance);
        }
    // Accumulating into a stride-0 destination axis sums along it (broadcast gradients).
    {
        layout dst{shape{4, 5, 6}, {6, 0, 1}}, src{shape{4, 5, 6}, {30, 6, 1}};
        auto s = host_random(120, 23), d0 = host_random(24, 24);
        std::vector<float> want = d0;
        ref::accumulate(rctx(), backend::strided<float>{want.data(), dst}, backend::strided<const float>{s.data(), src}, 0.5f);
        device_buffer<float> ds(s), dd(d0);
        cuda::accumulate(ctx(), backend::strided<float>{dd.p, dst}, backend::strided<const float>{ds.p, src}, 0.5f);
        CHECK(relative_error(dd.host(), want) <= f32_tolerance);
    }
    // A transposing strided copy is exact.
    {
        layout dst{shape{7, 9}, {1, 7}}, src{shape{7, 9}, {9, 1}};
        auto s = host_random(63, 25);
        std::vector<float> want(63);
        ref::copy(rctx(), backend::strided<float>{want.data(), dst}, backend::strided<const float>{s.data(), src});
        device_buffer<float> ds(s), dd(63);
        cuda::copy(ctx(), backend::strided<float>{dd.p, dst}, backend::strided<const float>{ds.p, src});
        CHECK(dd.host() == want);
    }
    // fill, and float -> bf16 -> float conversions bit for bit (round to nearest even, NaN kept).
    {
        device_buffer<float> df(1000);
        cuda::fill(ctx(), std::size_t{1000}, 2.5f, df.p);
        CHECK(df.host() == std::vector<float>(1000, 2.5f));
        auto x = host_random(4099, 26, -1e3f, 1e3f);
        x[0] = std::numeric_limits<float>::quiet_NaN(), x[1] = std::numeric_limits<float>::infinity(), x[2] = 3.0e38f;
        std::vector<bf16> want16(x.size());
        ref::convert(rctx(), x.size(), x.data(), want16.data());
        device_buffer<float> dx(x);
        device_buffer<bf16> d16(x.size());
        cuda::convert(ctx(), x.size(), static_cast<const float*>(dx.p), d16.p);
        const auto got16 = d16.host();
        bool same = true;
        for (std::size_t i = 0; i < x.size(); ++i) same = same && got16[i].bits == want16[i].bits;
        CHECK(same);
        std::vector<float> back(x.size()), want_back(x.size());
        ref::convert(rctx(), x.size(), want16.data(), want_back.data());
        device_buffer<float> dback(x.size());
        cuda::convert(ctx(), x.size(), static_cast<const bf16*>(d16.p), dback.p);
        back = dback.host();
        CHECK(std::memcmp(back.data(), want_back.data(), back.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("cuda: softmax, log-softmax, log-sum-exp, layer norm and L2 normalisation match reference, forward and backward") {
    STARBUCKS_REQUIRE_GPU();
    for (std::size_t cols : {std::size_t{1}, std::size_t{7}, std::size_t{128}, std::size_t{384}, std::size_t{1000}}) {
        const std::size_t rows = 37, n = rows * cols;
        auto x = host_random(n, 30, -4.0f, 4.0f), dy = host_random(n, 31), dx0 = host_random(n, 32);
        // A fully masked row: softmax gives zeros, log-softmax -inf, as the reference.
        for (std::size_t c = 0; c < cols; ++c) x[5 * cols + c] = -std::numeric_limits<float>::infinity();
        INFO("cols " << cols);
        for (bool log : {false, true}) {
            std::vector<float> y(n), dx = dx0;
            ref::softmax(rctx(), rows, cols, x.data(), y.data(), log);
            device_buffer<float> dX(x), dY(n), dDY(dy), dDX(dx0);
            cuda::softmax(ctx(), rows, cols, dX.p, dY.p, log);
            auto got = dY.host();
            for (std::size_t i = 0; i < n; ++i) // -inf entries compared as such, the rest by norm
                if (std::isinf(y[i])) {
                    CHECK(got[i] == y[i]);
                    got[i] = y[i] = 0;
                }
            CHECK(relative_error(got, y) <= f32_tolerance);
            // The backward pass on finite rows (the masked row's log-softmax has no finite gradient).
            auto yf = y;
            std::vector<float> xf = x;
            for (std::size_t c = 0; c < cols; ++c) xf[5 * cols + c] = 0.0f;
            ref::softmax(rctx(), rows, cols, xf.data(), yf.data(), log);
            ref::softmax_backward(rctx(), rows, cols, yf.data(), dy.data(), dx.data(), log);
            device_buffer<float> dYf(yf);
            cuda::softmax_backward(ctx(), rows, cols, dYf.p, dDY.p, dDX.p, log);
            CHECK(relative_error(dDX.host(), dx) <= f32_tolerance);
        }
        {
            auto xf = x;
            for (std::size_t c = 0; c < cols; ++c) xf[5 * cols + c] = 0.0f;
            std::vector<float> l(rows), dl = host_random(rows, 33), dx = dx0;
            ref::logsumexp(rctx(), rows, cols, xf.data(), l.data());
            ref::logsumexp_backward(rctx(), rows, cols, xf.data(), l.data(), dl.data(), dx.data());
            device_buffer<float> dX(xf), dL(rows), dDL(dl), dDX(dx0);
            cuda::logsumexp(ctx(), rows, cols, dX.p, dL.p);
            cuda::logsumexp_backward(ctx(), rows, cols, dX.p, dL.p, dDL.p, dDX.p);
            CHECK(relative_error(dL.host(), l) <= f32_tolerance);
            CHECK(relative_error(dDX.host(), dx) <= f32_tolerance);
        }
        {
            auto xf = host_random(n, 34, -2.0f, 3.0f), gamma = host_random(cols, 35), beta = host_random(cols, 36);
            std::vector<float> y(n), mean(rows), rstd(rows), dx = dx0, dg = host_random(cols, 37), db = host_random(cols, 38);
            const auto dg0 = dg, db0 = db;
            ref::layer_norm(rctx(), rows, cols, xf.data(), gamma.data(), beta.data(), 1e-12f, y.data(), mean.data(), rstd.data());
            ref::layer_norm_backward(rctx(), rows, cols, xf.data(), gamma.data(), mean.data(), rstd.data(), dy.data(),
                                     dx.data(), dg.data(), db.data());
            device_buffer<float> dX(xf), dG(gamma), dB(beta), dY(n), dM(rows), dR(rows), dDY(dy), dDX(dx0), dDG(dg0), dDB(db0);
            cuda::layer_norm(ctx(), rows, cols, dX.p, dG.p, dB.p, 1e-12f, dY.p, dM.p, dR.p);
            cuda::layer_norm_backward(ctx(), rows, cols, dX.p, dG.p, dM.p, dR.p, dDY.p, dDX.p, dDG.p, dDB.p);
            if (cols > 1) { // one column: every x̂ is 0 and rstd = 1/sqrt(eps), a conditioning test of its own
                CHECK(relative_error(dY.host(), y) <= f32_tolerance);
                CHECK(relative_error(dR.host(), rstd) <= f32_tolerance);
                CHECK(relative_error(dDX.host(), dx) <= f32_tolerance);
                CHECK(relative_error(dDG.host(), dg) <= f32_tolerance);
            }
            CHECK(relative_error(dM.host(), mean) <= f32_tolerance);
            CHECK(relative_error(dDB.host(), db) <= f32_tolerance);
        }
        {
            auto xf = host_random(n, 39);
            for (std::size_t c = 0; c < cols; ++c) xf[3 * cols + c] = 1e-14f; // clamped row
            std::vector<float> y(n), dx = dx0;
            ref::l2_normalize(rctx(), rows, cols, xf.data(), 1e-12f, y.data());
            ref::l2_normalize_backward(rctx(), rows, cols, xf.data(), y.data(), 1e-12f, dy.data(), dx.data());
            device_buffer<float> dX(xf), dY(n), dDY(dy), dDX(dx0);
            cuda::l2_normalize(ctx(), rows, cols, dX.p, 1e-12f, dY.p);
            cuda::l2_normalize_backward(ctx(), rows, cols, dX.p, dY.p, 1e-12f, dDY.p, dDX.p);
            CHECK(relative_error(dY.host(), y) <= f32_tolerance);
            CHECK(relative_error(dDX.host(), dx) <= f32_tolerance);
        }
    }
}

TEST_CASE("cuda: gathers, masked mean pooling and losses match reference, and bad indices and labels get the reference error") {
    STARBUCKS_REQUIRE_GPU();
    const std::size_t rows = 50, cols = 33, n_idx = 70;
    auto table = host_random(rows * cols, 40);
    std::vector<std::int64_t> idx(n_idx);
    for (std::size_t i = 0; i < n_idx; ++i) idx[i] = std::int64_t((i * 7) % rows);
    {
        std::vector<float> out(n_idx * cols), dt = host_random(rows * cols, 41);
        const auto dt0 = dt;
        auto dout = host_random(n_idx * cols, 42);
        ref::gather_rows(rctx(), n_idx, cols, table.data(), rows, idx.data(), out.data());
        ref::scatter_add_rows(rctx(), n_idx, cols, dout.data(), rows, idx.data(), dt.data());
        device_buffer<float> dT(table), dO(n_idx * cols), dDO(dout), dDT(dt0);
        device_buffer<std::int64_t> dI(idx);
        cuda::gather_rows(ctx(), n_idx, cols, static_cast<const float*>(dT.p), rows, dI.p, dO.p);
        cuda::scatter_add_rows(ctx(), n_idx, cols, static_cast<const float*>(dDO.p), rows, dI.p, dDT.p);
        CHECK(dO.host() == out);
        CHECK(relative_error(dDT.host(), dt) <= f32_tolerance);
        auto bad = idx;
        bad[13] = 50, bad[40] = -1;
        device_buffer<std::int64_t> dBad(bad);
        const std::string want = testing::error_message(
            [&] { ref::gather_rows(rctx(), n_idx, cols, table.data(), rows, bad.data(), out.data()); });
        CHECK(want.find("index 50 at position 13") != std::string::npos);
        // Reported at the host's next synchronisation, not by the launch itself (no wait per lookup).
        CHECK(testing::error_message([&] {
                  cuda::gather_rows(ctx(), n_idx, cols, static_cast<const float*>(dT.p), rows, dBad.p, dO.p);
                  cuda::synchronize(ctx());
              }) == want);
        CHECK(testing::error_message([&] { cuda::synchronize(ctx()); }).empty()); // reported once
        // The first bad op is the one reported, whatever follows it before the host looks.
        CHECK(testing::error_message([&] {
                  cuda::gather_rows(ctx(), n_idx, cols, static_cast<const float*>(dT.p), rows, dBad.p, dO.p);
                  auto worse = bad;
                  worse[2] = 99;
                  device_buffer<std::int64_t> dWorse(worse);
                  cuda::gather_rows(ctx(), n_idx, cols, static_cast<const float*>(dT.p), rows, dWorse.p, dO.p);
                  float sink = 0;
                  cuda::download(ctx(), &sink, dT.p, sizeof sink);
              }) == want);
    }
    {
        const std::size_t batch = 5, tokens = 9;
        auto x = host_random(batch * tokens * cols, 43), dy = host_random(batch * cols, 44), dx0 = host_random(x.size(), 45);
        std::vector<float> mask(batch * tokens, 1.0f);
        for (std::size_t t = 4; t < tokens; ++t) mask[1 * tokens + t] = 0.0f;
        for (std::size_t t = 0; t < tokens; ++t) mask[3 * tokens + t] = 0.0f; // empty row: count clamps
        std::vector<float> y(batch * cols), dx = dx0;
        ref::masked_mean(rctx(), batch, tokens, cols, x.data(), mask.data(), y.data());
        ref::masked_mean_backward(rctx(), batch, tokens, cols, mask.data(), dy.data(), dx.data());
        device_buffer<float> dX(x), dM(mask), dY(batch * cols), dDY(dy), dDX(dx0);
        cuda::masked_mean(ctx(), batch, tokens, cols, dX.p, dM.p, dY.p);
        cuda::masked_mean_backward(ctx(), batch, tokens, cols, dM.p, dDY.p, dDX.p);
        CHECK(relative_error(dY.host(), y) <= f32_tolerance);
        CHECK(relative_error(dDX.host(), dx) <= f32_tolerance);
    }
    {
        const std::size_t r = 23, c = 101;
        auto logits = host_random(r * c, 46, -5.0f, 5.0f), dl0 = host_random(r * c, 47);
        std::vector<std::int64_t> labels(r);
        for (std::size_t i = 0; i < r; ++i) labels[i] = i % 4 == 1 ? -100 : std::int64_t((i * 13) % c);
        float loss = 0, dloss = 0.7f;
        std::vector<float> dl = dl0;
        ref::cross_entropy(rctx(), r, c, logits.data(), labels.data(), std::int64_t{-100}, &loss);
        ref::cross_entropy_backward(rctx(), r, c, logits.data(), labels.data(), std::int64_t{-100}, &dloss, dl.data());
        device_buffer<float> dLg(logits), dLoss(1), dDLoss(std::vector<float>{dloss}), dDL(dl0);
        device_buffer<std::int64_t> dLab(labels);
        cuda::cross_entropy(ctx(), r, c, static_cast<const float*>(dLg.p), dLab.p, std::int64_t{-100}, dLoss.p);
        cuda::cross_entropy_backward(ctx(), r, c, static_cast<const float*>(dLg.p), dLab.p, std::int64_t{-100},
                                     static_cast<const float*>(dDLoss.p), dDL.p);
        CHECK(relative_error(dLoss.host(), {loss}) <= f32_tolerance);
        CHECK(relative_error(dDL.host(), dl) <= f32_tolerance);
        // Every row ignored: NaN, as torch.
        std::vector<std::int64_t> none(r, -100);
        device_buffer<std::int64_t> dNone(none);
        cuda::cross_entropy(ctx(), r, c, static_cast<const float*>(dLg.p), dNone.p, std::int64_t{-100}, dLoss.p);
        CHECK(std::isnan(dLoss.host()[0]));
        auto bad = labels;
        bad[6] = std::int64_t(c);
        const std::string want = testing::error_message([&] {
            ref::cross_entropy(rctx(), r, c, logits.data(), bad.data(), std::int64_t{-100}, &loss);
        });
        device_buffer<std::int64_t> dBad(bad);
        CHECK(!want.empty());
        CHECK(testing::error_message([&] {
                  cuda::cross_entropy(ctx(), r, c, static_cast<const float*>(dLg.p), dBad.p, std::int64_t{-100}, dLoss.p);
                  cuda::synchronize(ctx());
              }) == want);
    }
    {
        const std::size_t r = 8, c = 40;
        auto q = host_random(r * c, 48, -6.0f, 0.0f), p = host_random(r * c, 49, -6.0f, 0.0f);
        p[3] = -std::numeric_limits<float>::infinity();
        auto dq0 = host_random(r * c, 50), dp0 = host_random(r * c, 51);
        float out = 0, dout = 1.3f;
        std::vector<float> dq = dq0, dp = dp0;
        ref::kl_div(rctx(), r, c, q.data(), p.data(), &out);
        ref::kl_div_backward(rctx(), r, c, q.data(), p.data(), &dout, dq.data(), dp.data());
        device_buffer<float> dQ(q), dP(p), dOut(1), dDOut(std::vector<float>{dout}), dDQ(dq0), dDP(dp0);
        cuda::kl_div(ctx(), r, c, static_cast<const float*>(dQ.p), static_cast<const float*>(dP.p), dOut.p);
        cuda::kl_div_backward(ctx(), r, c, static_cast<const float*>(dQ.p), static_cast<const float*>(dP.p),
                              static_cast<const float*>(dDOut.p), dDQ.p, dDP.p);
        CHECK(relative_error(dOut.host(), {out}) <= f32_tolerance);
        CHECK(relative_error(dDQ.host(), dq) <= f32_tolerance);
        CHECK(relative_error(dDP.host(), dp) <= f32_tolerance);
    }
}

TEST_CASE("cuda: squared norm, AdamW, dropout and random fills match reference (masks and fills bit for bit)") {
    STARBUCKS_REQUIRE_GPU();
    const std::size_t n = 100003;
    auto x = host_random(n, 60), g = host_random(n, 61), m0 = host_random(n, 62), v0 = host_random(n, 63, 0.0f, 1.0f);
    const double want_norm = ref::squared_norm(rctx(), n, x.data());
    device_buffer<float> dX(x), dG(g), dM(m0), dV(v0);
    CHECK(std::abs(cuda::squared_norm(ctx(), n, static_cast<const float*>(dX.p)) - want_norm) <= 1e-12 * want_norm);
    backend::adamw_args a;
    a.lr = 1e-3, a.step = 7;
    auto p = x, m = m0, v = v0;
    ref::adamw(rctx(), n, a, p.data(), g.data(), m.data(), v.data());
    cuda::adamw(ctx(), n, a, dX.p, static_cast<const float*>(dG.p), dM.p, dV.p);
    CHECK(relative_error(dX.host(), p) <= f32_tolerance);
    CHECK(relative_error(dM.host(), m) <= f32_tolerance);
    CHECK(relative_error(dV.host(), v) <= f32_tolerance);

    const rng_stream rng{1234, 7, 13}; // a non-zero offset starts mid-block, as attention tiles do
    std::vector<float> y(n), mask(n);
    ref::dropout(rctx(), n, 0.1f, rng, x.data(), y.data(), mask.data());
    device_buffer<float> dX2(x), dY(n), dMask(n);
    cuda::dropout(ctx(), n, 0.1f, rng, static_cast<const float*>(dX2.p), dY.p, dMask.p);
    CHECK(dMask.host() == mask);
    CHECK(dY.host() == y);

    std::vector<float> u(n), z(n);
    ref::fill_uniform(rctx(), n, rng_stream{99, 3}, -0.5f, 2.0f, u.data());
    ref::fill_normal(rctx(), n, rng_stream{99, 4}, 0.0f, 0.02f, z.data());
    device_buffer<float> dU(n), dZ(n);
    cuda::fill_uniform(ctx(), n, rng_stream{99, 3}, -0.5f, 2.0f, dU.p);
    cuda::fill_normal(ctx(), n, rng_stream{99, 4}, 0.0f, 0.02f, dZ.p);
    CHECK(dU.host() == u);
    // CUDA's double log/cos may differ from glibc's in the last place.
    CHECK(relative_error(dZ.host(), z) <= 1e-12);
}

/// One attention of the fused-kernel case: sizes, key mask, dropout.
struct attention_case {
    std::size_t batch, tokens, heads, head_size;
    bool masked, dead_sample; // dead_sample: sample 0 masks every key with -inf
    float dropout_p;
};

TEST_CASE("cuda: fused attention matches the reference's composed attention, forward and backward, and the ops take it") {
    STARBUCKS_REQUIRE_GPU();
    // Head sizes at both kernel bounds (64, 128) and off the lanes (8, 40, 96); tokens off the
    // 32-key tiles and the query-row blocks.
    const attention_case cases[] = {{2, 37, 2, 64, true, false, 0.0f},  {2, 37, 2, 64, false, false, 0.15f}, {1, 70, 1, 40, true, false, 0.1f},
                                    {2, 33, 2, 96, true, true, 0.0f},   {1, 45, 2, 128, true, false, 0.2f},  {3, 5, 4, 8, false, false, 0.0f},
                                    {2, 20, 3, 128, false, true, 0.0f}};
    for (const attention_case& t : cases) {
        INFO("B=" << t.batch << " T=" << t.tokens << " H=" << t.heads << " D=" << t.head_size << " masked=" << t.masked
                  << " dead=" << t.dead_sample << " p=" << t.dropout_p);
        const std::size_t width = t.heads * t.head_size, n = t.batch * t.tokens * width;
        const auto q = host_random(n, 90), k = host_random(n, 91), v = host_random(n, 92), dout = host_random(n, 93);
        const auto g0 = host_random(n, 94); // gradients already hold values: the backward adds
        std::vector<float> mask(t.batch * t.tokens, 0.0f);
        for (std::size_t b = 0; b < t.batch; ++b)
            for (std::size_t j = 0; j < t.tokens; ++j) {
                if (t.masked && j + (3 * b + 1) % t.tokens >= t.tokens) mask[b * t.tokens + j] = std::numeric_limits<float>::lowest();
                if (t.dead_sample && b == 0) mask[b * t.tokens + j] = -std::numeric_limits<float>::infinity();
            }
        const bool with_mask = t.masked || t.dead_sample;
        attention_options<float> o;
        o.heads = t.heads;
        o.scale = 1.0f / std::sqrt(float(t.head_size));
        o.dropout_p = t.dropout_p;
        o.rng = rng_stream{17, 3};

        std::vector<float> out(n), dq = g0, dk = g0, dv = g0;
        const starbucks::detail::attention_kernel<float, ref> composed(t.batch, t.tokens, width, q.data(), k.data(), v.data(),
                                                                       with_mask ? mask.data() : nullptr, o);
        composed.forward(out.data());
        composed.backward(dout.data(), dq.data(), dk.data(), dv.data());

        device_buffer<float> dQ(q), dK(k), dV(v), dMask(mask), dDout(dout), dOut(n), dLse(t.batch * t.heads * t.tokens);
        device_buffer<float> dDq(g0), dDk(g0), dDv(g0), dDqAlone(g0);
        backend::fused_attention_args<float> a;
        a.batch = t.batch, a.tokens = t.tokens, a.heads = t.heads, a.head_size = t.head_size;
        a.q = dQ.p, a.k = dK.p, a.v = dV.p, a.mask = with_mask ? dMask.p : nullptr;
        a.scale = o.scale, a.dropout_p = o.dropout_p, a.rng = o.rng;
        REQUIRE(cuda::fused_attention_supports(a));
        cuda::attention_forward(ctx(), a, dOut.p, dLse.p);
        cuda::attention_backward(ctx(), a, static_cast<const float*>(dOut.p), static_cast<const float*>(dLse.p),
                                 static_cast<const float*>(dDout.p), dDq.p, dDk.p, dDv.p);
        cuda::attention_backward(ctx(), a, static_cast<const float*>(dOut.p), static_cast<const float*>(dLse.p),
                                 static_cast<const float*>(dDout.p), dDqAlone.p, static_cast<float*>(nullptr), static_cast<float*>(nullptr));
        const auto got_out = dOut.host();
        CHECK(relative_error(got_out, out) <= f32_tolerance);
        CHECK(relative_error(dDq.host(), dq) <= f32_tolerance);
        CHECK(relative_error(dDk.host(), dk) <= f32_tolerance);
        CHECK(relative_error(dDv.host(), dv) <= f32_tolerance);
        CHECK(dDqAlone.host() == dDq.host()); // one owner per element: no atomics, no order to vary
        if (t.dead_sample) // a sample whose every key is -inf attends to nothing, as the softmax gives
            for (std::size_t i = 0; i < t.tokens * width; ++i) REQUIRE(got_out[i] == 0.0f);

        // The op takes the fused kernel by default (the same bits), the composed path on request.
        tensor<float, dextents<3>> hq(dextents<3>(t.batch, t.tokens, width)), hk(hq.extents()), hv(hq.extents());
        std::memcpy(hq.data(), q.data(), n * sizeof(float));
        std::memcpy(hk.data(), k.data(), n * sizeof(float));
        std::memcpy(hv.data(), v.data(), n * sizeof(float));
        tensor<float, dextents<2>> hm(dextents<2>(t.batch, t.tokens));
        std::memcpy(hm.data(), mask.data(), mask.size() * sizeof(float));
        auto on_device = [&] {
            return with_mask ? to<ref>(attention(to<cuda>(hq), to<cuda>(hk), to<cuda>(hv), to<cuda>(hm), o))
                             : to<ref>(attention(to<cuda>(hq), to<cuda>(hk), to<cuda>(hv), o));
        };
        const auto fused_op = on_device();
        CHECK(std::memcmp(fused_op.data(), got_out.data(), n * sizeof(float)) == 0);
        attention_path_scope composed_path(attention_path::composed);
        const auto composed_op = on_device();
        CHECK(relative_error(std::vector<float>(composed_op.data(), composed_op.data() + n), out) <= f32_tolerance);
    }
}

TEST_CASE("cuda: tensors and ops above the backend run on the device, with explicit transfers") {
    STARBUCKS_REQUIRE_GPU();
    auto a = testing::random<float>(extents<dyn, dyn>(37, 50), 70);
    auto b = testing::random<float>(extents<dyn, dyn>(50, 29), 71);
    auto want = softmax(matmul(a, b));
    auto got = to<backend::reference>(softmax(matmul(to<cuda>(a), to<cuda>(b))));
    CHECK(testing::relative_error(got, want) <= f32_tolerance);
    // A random tensor drawn on the device is the host's, element for element.
    auto r = to<backend::reference>(random_uniform<float, cuda>(extents<dyn>(1000), rng_stream{5, 1}, -1.0f, 1.0f));
    auto rh = random_uniform<float, backend::reference>(extents<dyn>(1000), rng_stream{5, 1}, -1.0f, 1.0f);
    CHECK(std::memcmp(r.data(), rh.data(), 1000 * sizeof(float)) == 0);
}

TEST_CASE("cuda: a tensor larger than the device is a resource_error naming the request, and the device stays usable") {
    STARBUCKS_REQUIRE_GPU();
    const std::size_t total = cd::info(ctx()).total_memory, elements = total / sizeof(float) + (std::size_t{1} << 20);
    auto kept = testing::random<float, cuda>(extents<dyn>(1000), 85); // what was there before must survive
    const auto before = to<backend::reference>(kept);
    const std::string msg = testing::error_message([&] { (void)tensor<float, extents<dyn>, cuda>(extents<dyn>(elements), uninitialized); });
    CHECK(msg.find("starbucks::backend::cuda::allocate") != std::string::npos);
    CHECK(msg.find("cannot allocate " + std::to_string(elements * sizeof(float)) + " bytes") != std::string::npos);
    CHECK_THROWS_AS((void)(tensor<float, extents<dyn>, cuda>(extents<dyn>(elements), uninitialized)), resource_error);
    const auto after = to<backend::reference>(kept);
    CHECK(std::memcmp(after.data(), before.data(), 1000 * sizeof(float)) == 0);
    auto a = testing::random<float>(extents<dyn, dyn>(16, 24), 86); // and it still computes
    CHECK(testing::relative_error(to<backend::reference>(matmul_nt(to<cuda>(a), to<cuda>(a))), matmul_nt(a, a)) <= f32_tolerance);
}

TEST_CASE("cuda: after warm-up a repeated step reuses cached blocks and never reaches cudaMalloc") {
    STARBUCKS_REQUIRE_GPU();
    auto step = [] {
        auto a = testing::random<float, cuda>(extents<dyn, dyn>(256, 384), 80);
        auto b = testing::random<float, cuda>(extents<dyn, dyn>(384, 1536), 81);
        auto c = matmul(a, b);
        auto d = softmax(c);
        cuda::synchronize(cuda::default_context());
    };
    step();
    step();
    const std::size_t raw = cd::raw_allocations(cuda::default_context());
    const std::size_t reused = cd::reuses(cuda::default_context());
    for (int i = 0; i < 5; ++i) step();
    CHECK(cd::raw_allocations(cuda::default_context()) == raw);
    CHECK(cd::reuses(cuda::default_context()) > reused);
}

}} // namespace ::test_cuda
