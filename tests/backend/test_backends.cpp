// SPDX-License-Identifier: Apache-2.0
// Every op, forward and backward, on every enabled backend against backend::reference.
#include "testing.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <bit>
#include <limits>
#include <thread>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_backends {

using namespace starbucks;
namespace ag = starbucks::autograd;
using starbucks::testing::relative_error;

#if defined(STARBUCKS_WITH_ONEDNN)
#define STARBUCKS_TEST_FAST_BACKEND cpu_onednn
#elif defined(STARBUCKS_WITH_EIGEN)
#define STARBUCKS_TEST_FAST_BACKEND cpu_eigen
#endif

namespace {

// f32 normwise relative error bound of the issue; reassociation in blocked GEMMs and
// vectorised transcendental functions stays well inside it for these sizes.
constexpr double f32_tolerance = 1e-5;

template <class B, class E>
auto input(const E& e, std::uint64_t seed) {
    // The same Philox stream on both backends: identical inputs, element by element.
    return random_uniform<float, B>(e, rng_stream{seed, 0}, -1.0f, 1.0f);
}

/// A tensor of backend B with the same elements as the host tensor `t` (uploaded to a device).
template <class B, class T, class E, class B0>
tensor<T, E, B> on(const tensor<T, E, B0>& t) {
    return to<B>(t);
}

template <bool TA, bool TB, class B>
void check_gemm(std::size_t m, std::size_t k, std::size_t n) {
    auto a = input<backend::reference>(extents<dyn, dyn>(TA ? k : m, TA ? m : k), 1);
    auto b = input<backend::reference>(extents<dyn, dyn>(TB ? n : k, TB ? k : n), 2);
    auto expected = matmul<TA, TB>(a, b);
    auto got = matmul<TA, TB>(on<B>(a), on<B>(b));
    INFO("m=" << m << " k=" << k << " n=" << n << " TA=" << TA << " TB=" << TB);
    CHECK(relative_error(got, expected) <= f32_tolerance);
}

} // namespace

TEST_CASE_TEMPLATE("backends: gemm matches reference for odd sizes and every transpose", B, STARBUCKS_TEST_BACKENDS) {
    const std::size_t sizes[] = {1, 3, 7, 33, 129};
    for (std::size_t m : sizes)
        for (std::size_t k : {std::size_t{1}, std::size_t{7}, std::size_t{129}})
            for (std::size_t n : sizes) {
                check_gemm<false, false, B>(m, k, n);
                check_gemm<false, true, B>(m, k, n);
                check_gemm<true, false, B>(m, k, n);
                check_gemm<true, true, B>(m, k, n);
            }
}

TEST_CASE_TEMPLATE("backends: batched, shared-weight and strided-view gemm match reference", B, STARBUCKS_TEST_BACKENDS) {
    auto x = input<backend::reference>(extents<3, 33, 7>{}, 3);
    auto y = input<backend::reference>(extents<3, 7, 5>{}, 4);
    auto w = input<backend::reference>(extents<9, 7>{}, 5);
    CHECK(relative_error(matmul(on<B>(x), on<B>(y)), matmul(x, y)) <= f32_tolerance);
    CHECK(relative_error(matmul_nt(on<B>(x), on<B>(w)), matmul_nt(x, w)) <= f32_tolerance);
    // A transposed view, a prefix view and a slice: used in place through leading dimensions.
    auto xb = on<B>(x);
    auto wb = on<B>(w);
    CHECK(relative_error(matmul(select<0>(xb, 1), transpose<0, 1>(wb)), matmul(select<0>(x, 1), transpose<0, 1>(w))) <=
          f32_tolerance);
    CHECK(relative_error(matmul_nt(prefix(select<0>(xb, 2), 5), prefix(wb, 5)), matmul_nt(prefix(select<0>(x, 2), 5), prefix(w, 5))) <=
          f32_tolerance);
    CHECK(relative_error(matmul(slice(select<0>(xb, 0), 0, 4, 20), transpose<0, 1>(wb)),
                         matmul(slice(select<0>(x, 0), 0, 4, 20), transpose<0, 1>(w))) <= f32_tolerance);
}

TEST_CASE_TEMPLATE("backends: element-wise functions and their derivatives match reference", B, STARBUCKS_TEST_BACKENDS) {
    using backend::unary_op;
    auto x = input<backend::reference>(extents<33, 7>{}, 6);
    auto positive = random_uniform<float>(extents<33, 7>{}, rng_stream{7, 0}, 0.1f, 2.0f);
    auto dy = input<backend::reference>(extents<33, 7>{}, 8);
    for (unary_op op : {unary_op::neg, unary_op::exp, unary_op::log, unary_op::tanh, unary_op::gelu, unary_op::square,
                        unary_op::sqrt, unary_op::scale}) {
        const auto& in = (op == unary_op::log || op == unary_op::sqrt) ? positive : x;
        INFO("op " << backend::to_string(op));
        auto expected = map(op, in, 0.75f);
        auto got = map(op, on<B>(in), 0.75f);
        CHECK(relative_error(got, expected) <= f32_tolerance);

        auto dx_ref = zeros<float>(extents<33, 7>{});
        auto dx_b = zeros<float, B>(extents<33, 7>{});
        map_backward(op, as_const_view(in), as_const_view(expected), as_const_view(dy), dx_ref.view(), 0.75f);
        auto in_b = on<B>(in);
        auto dy_b = on<B>(dy);
        map_backward(op, as_const_view(in_b), as_const_view(got), as_const_view(dy_b), dx_b.view(), 0.75f);
        CHECK(relative_error(dx_b, dx_ref) <= f32_tolerance);
    }
}

TEST_CASE_TEMPLATE("backends: broadcast, reductions, softmax, norms, gathers and losses match reference", B, STARBUCKS_TEST_BACKENDS) {
    auto x = input<backend::reference>(extents<7, 33>{}, 9);
    auto bias = input<backend::reference>(extents<33>{}, 10);
    auto gamma = input<backend::reference>(extents<33>{}, 11);
    auto xb = on<B>(x);
    CHECK(relative_error(add(xb, on<B>(bias)), add(x, bias)) <= f32_tolerance);
    CHECK(relative_error(mul(prefix(xb, 5), prefix(xb, 5)), mul(prefix(x, 5), prefix(x, 5))) <= f32_tolerance);
    CHECK(relative_error(sum<0>(xb), sum<0>(x)) <= f32_tolerance);
    CHECK(relative_error(softmax(xb), softmax(x)) <= f32_tolerance);
    CHECK(relative_error(log_softmax(xb), log_softmax(x)) <= f32_tolerance);
    CHECK(relative_error(logsumexp(xb), logsumexp(x)) <= f32_tolerance);
    CHECK(relative_error(layer_norm(xb, on<B>(gamma), on<B>(bias), 1e-12f), layer_norm(x, gamma, bias, 1e-12f)) <= f32_tolerance);
    CHECK(relative_error(l2_normalize(xb), l2_normalize(x)) <= f32_tolerance);
    CHECK(relative_error(cosine_similarity(xb, xb), cosine_similarity(x, x)) <= f32_tolerance);
    tensor<std::int64_t, extents<4>> ids;
    ids(0) = 3;
    ids(1) = 0;
    ids(2) = 3;
    ids(3) = 6;
    CHECK(relative_error(embedding(xb, on<B>(ids)), embedding(x, ids)) <= f32_tolerance);
    tensor<std::int64_t, extents<7>> labels;
    for (int i = 0; i < 7; ++i) labels(i) = (i * 5) % 33;
    CHECK(relative_error(cross_entropy(xb, on<B>(labels)), cross_entropy(x, labels)) <= f32_tolerance);
    CHECK(relative_error(kl_div(log_softmax(xb), log_softmax(scale(xb, 2.0f))), kl_div(log_softmax(x), log_softmax(scale(x, 2.0f)))) <=
          f32_tolerance);
    CHECK(relative_error(dropout(xb, 0.3f, rng_stream{1, 2}).y, dropout(x, 0.3f, rng_stream{1, 2}).y) <= f32_tolerance);
}

TEST_CASE_TEMPLATE("backends: gradients of an attention block match reference", B, STARBUCKS_TEST_BACKENDS) {
    // Forward and backward through every kind of op the encoder uses, on both backends.
    auto run = [](auto x0, auto wq, auto wk, auto wv, auto g, auto b) {
        auto x = ag::parameter(std::move(x0));
        auto q_w = ag::parameter(std::move(wq));
        auto k_w = ag::parameter(std::move(wk));
        auto v_w = ag::parameter(std::move(wv));
        auto gamma = ag::parameter(std::move(g));
        auto beta = ag::parameter(std::move(b));
        ag::tape tape;
        auto on_tape = tape.activate();
        auto q = ag::matmul_nt(x, q_w); // (B, T, C)
        auto k = ag::matmul_nt(x, k_w);
        auto v = ag::matmul_nt(x, v_w);
        auto p = ag::softmax(ag::scale(ag::matmul<false, true>(q, k), 0.25f)); // (B, T, T)
        auto h = ag::layer_norm(ag::add(x, ag::gelu(ag::matmul(p, v))), gamma, beta, 1e-12f);
        auto pooled = ag::mean<1>(h);                                              // (B, C)
        auto loss = ag::sum(ag::square(ag::prefix(pooled, 4)));
        tape.backward({loss});
        return std::tuple{contiguous(x.grad()), contiguous(q_w.grad()), contiguous(gamma.grad())};
    };
    auto x = input<backend::reference>(extents<3, 7, 9>{}, 12);
    auto wq = input<backend::reference>(extents<9, 9>{}, 13);
    auto wk = input<backend::reference>(extents<9, 9>{}, 14);
    auto wv = input<backend::reference>(extents<9, 9>{}, 15);
    auto g = input<backend::reference>(extents<9>{}, 16);
    auto b = input<backend::reference>(extents<9>{}, 17);
    auto [dx_ref, dq_ref, dg_ref] = run(x, wq, wk, wv, g, b);
    auto [dx, dq, dg] = run(on<B>(x), on<B>(wq), on<B>(wk), on<B>(wv), on<B>(g), on<B>(b));
    CHECK(relative_error(dx, dx_ref) <= f32_tolerance);
    CHECK(relative_error(dq, dq_ref) <= f32_tolerance);
    CHECK(relative_error(dg, dg_ref) <= f32_tolerance);
}

#ifdef STARBUCKS_WITH_EIGEN
TEST_CASE("backends: cpu_eigen announces every op it takes from the reference backend") {
    // GEMM and the unary functions are Eigen's, the row, strided, dropout and AdamW kernels
    // cpu_common's; everything else is the reference kernel. When an op gains a fast kernel this
    // count must go down with it.
    CHECK(backend::cpu_eigen::reference_fallbacks.size() == 14);
    CHECK(std::string_view(backend::cpu_eigen::name) == "cpu_eigen");
}
#endif

#ifdef STARBUCKS_WITH_ONEDNN
TEST_CASE("backends: cpu_onednn announces every op it takes from the reference backend") {
    CHECK(backend::cpu_onednn::reference_fallbacks.size() == 13);
}

TEST_CASE("backends: cpu_onednn softmax rows match the row kernel, and rows it cannot normalise get the row kernel's answer") {
    using B = backend::cpu_onednn;
    constexpr std::size_t rows = 96, cols = 128;
    std::vector<float> x(rows * cols);
    const rng_stream r{21, 0};
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 8.0f * r.uniform(i) - 4.0f;
    const float inf = std::numeric_limits<float>::infinity();
    std::fill(x.begin() + 5 * cols, x.begin() + 6 * cols, -inf);         // row 5: all -inf
    x[7 * cols + 3] = std::numeric_limits<float>::quiet_NaN();          // row 7: one NaN
    std::fill(x.begin() + 9 * cols, x.begin() + 9 * cols + 64, -inf);    // row 9: half masked
    std::vector<float> want(x.size()), got(x.size());
    backend::detail::cpu_rows::softmax(backend::reference::default_context(), rows, cols, x.data(), want.data(), false);
    B::softmax(B::default_context(), rows, cols, x.data(), got.data(), false);
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (i / cols == 7) continue;
        worst = std::max(worst, double(std::abs(got[i] - want[i])));
    }
    CHECK(worst <= 1e-6);
    for (std::size_t c = 0; c < cols; ++c) {
        CHECK(got[5 * cols + c] == 0.0f);
        CHECK(std::isnan(got[7 * cols + c]));
        if (c < 64) CHECK(got[9 * cols + c] == 0.0f);
    }
}

TEST_CASE("backends: cpu_onednn creates no primitive once a step has run") {
    using B = backend::cpu_onednn;
    auto x = random_uniform<float, B>(extents<dyn, 24>(17), rng_stream{1, 0});
    auto w = random_uniform<float, B>(extents<12, 24>{}, rng_stream{2, 0});
    auto step = [&] {
        auto wp = ag::parameter(w);
        ag::tape tape;
        auto on_tape = tape.activate();
        tape.backward({ag::sum(ag::square(ag::matmul_nt(ag::constant_input(x), wp)))});
    };
    step();
    const std::size_t after_warm_up = B::default_context().onednn.primitives_created();
    step();
    step();
    CHECK(B::default_context().onednn.primitives_created() == after_warm_up);
}

TEST_CASE("backends: cpu_onednn packs layer weights: per call for tall products, once per frozen-weights scope") {
    using B = backend::cpu_onednn;
    auto& oc = B::default_context().onednn;
    // 4096 rows: tall enough for a per-call reorder of the weight, in the forward (x Wᵀ) and in
    // the input gradient (dY W).
    auto x = input<backend::reference>(extents<dyn, 96>(4096), 70);
    auto w = input<backend::reference>(extents<40, 96>{}, 71);
    auto b = input<backend::reference>(extents<40>{}, 72);
    auto dy = input<backend::reference>(extents<dyn, 40>(4096), 73);
    const auto expected_y = gelu(add(matmul_nt(x, w), b));
    const auto expected_dx = matmul(dy, w);
    auto xb = on<B>(x);
    auto wb = on<B>(w);
    auto bb = on<B>(b);
    CHECK(relative_error(linear(xb, wb, bb, backend::gemm_activation::gelu), expected_y) <= f32_tolerance);
    {
        auto xv = ag::parameter(on<B>(x));
        auto wv = ag::parameter(on<B>(w));
        auto bv = ag::parameter(on<B>(b));
        ag::tape tape;
        auto on_tape = tape.activate();
        tape.backward({ag::sum(ag::mul(ag::linear(xv, wv, bv), ag::constant_input(on<B>(dy))))});
        CHECK(relative_error(contiguous(xv.grad()), expected_dx) <= f32_tolerance);
    }
    CHECK(oc.weights_held() == 0); // per-call packing keeps nothing
    // A frozen scope packs each weight once and reuses it, small products included.
    auto xs = input<backend::reference>(extents<dyn, 96>(7), 74);
    const auto expected_small = add(matmul_nt(xs, w), b);
    auto xsb = on<B>(xs);
    {
        backend::frozen_weights_scope frozen;
        const std::size_t before = oc.weights_packed();
        for (int i = 0; i < 3; ++i) {
            CHECK(relative_error(linear(xsb, wb, bb), expected_small) <= f32_tolerance);
            CHECK(relative_error(linear(xb, wb, bb, backend::gemm_activation::gelu), expected_y) <= f32_tolerance);
        }
        // One packed copy per (weight, primitive): the 7-row and the 4096-row products.
        CHECK(oc.weights_packed() - before >= 1);
        CHECK(oc.weights_packed() - before <= 2);
        CHECK(oc.weights_held() >= 1);
        {
            backend::frozen_weights_scope nested; // the same generation: nothing repacked
            const std::size_t inner_before = oc.weights_packed();
            CHECK(relative_error(linear(xsb, wb, bb), expected_small) <= f32_tolerance);
            CHECK(oc.weights_packed() == inner_before);
        }
        CHECK(oc.weights_held() >= 1);
    }
    CHECK(oc.weights_held() == 0); // released with the outermost scope
    // A weight changed between scopes is packed afresh: the next scope sees the new values.
    auto w2 = input<backend::reference>(extents<40, 96>{}, 75);
    std::memcpy(wb.data(), w2.data(), w2.size() * sizeof(float));
    {
        backend::frozen_weights_scope frozen;
        CHECK(relative_error(linear(xsb, wb, bb), add(matmul_nt(xs, w2), b)) <= f32_tolerance);
    }
}
#endif

TEST_CASE("backends: thread count is validated, and results do not depend on it beyond reassociation") {
    CHECK_THROWS_AS(backend::set_num_threads(0), usage_error);
#if defined(_OPENMP)
    using B = backend::STARBUCKS_TEST_FAST_BACKEND;
    auto a = random_uniform<float, B>(extents<dyn, 384>(257), rng_stream{1, 0});
    auto w = random_uniform<float, B>(extents<dyn, 384>(129), rng_stream{2, 0});
    const int before = backend::num_threads();
    backend::set_num_threads(1);
    auto one = matmul_nt(a, w);
    auto drop_one = dropout(a, 0.1f, rng_stream{3, 4});
    backend::set_num_threads(2);
    CHECK(backend::num_threads() == 2);
    auto two = matmul_nt(a, w);
    auto drop_two = dropout(a, 0.1f, rng_stream{3, 4});
    backend::set_num_threads(before);
    CHECK(relative_error(two, one) <= f32_tolerance);
    CHECK(starbucks::testing::max_abs_diff(drop_two.mask, drop_one.mask) == 0.0); // the RNG never depends on threads
#endif
}

#if defined(_OPENMP) && (defined(STARBUCKS_WITH_ONEDNN) || defined(STARBUCKS_WITH_EIGEN))
TEST_CASE("backends: row kernels give bitwise identical results on 1 and 2 threads") {
    using B = backend::STARBUCKS_TEST_FAST_BACKEND;
    auto x0 = random_uniform<float, B>(extents<dyn, 96>(301), rng_stream{5, 0});
    auto g0 = random_uniform<float, B>(extents<96>{}, rng_stream{6, 0});
    auto b0 = random_uniform<float, B>(extents<96>{}, rng_stream{7, 0});
    auto grads = [&] {
        auto x = ag::parameter(x0);
        auto g = ag::parameter(g0);
        auto b = ag::parameter(b0);
        ag::tape tape;
        auto on_tape = tape.activate();
        auto y = ag::log_softmax(ag::layer_norm(x, g, b, 1e-12f));
        tape.backward({ag::sum(ag::mul(y, ag::constant_input(x0)))});
        return std::tuple{contiguous(x.grad()), contiguous(g.grad()), contiguous(b.grad())};
    };
    const int before = backend::num_threads();
    backend::set_num_threads(1);
    auto [dx1, dg1, db1] = grads();
    backend::set_num_threads(2);
    auto [dx2, dg2, db2] = grads();
    backend::set_num_threads(before);
    CHECK(std::memcmp(dx1.data(), dx2.data(), dx1.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(dg1.data(), dg2.data(), dg1.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(db1.data(), db2.data(), db1.size() * sizeof(float)) == 0);
}
#endif

TEST_CASE_TEMPLATE("backends: bf16 gemm accumulates in f32 and matches the reference within bf16 input rounding", B, STARBUCKS_TEST_BACKENDS) {
    // Inputs are rounded to bf16 once; both sides multiply the same bf16 values, so only the f32
    // accumulation order differs: the f32 tolerance applies to the product of the rounded inputs.
    auto a32 = input<backend::reference>(extents<dyn, dyn>(37, 129), 20);
    auto b32 = input<backend::reference>(extents<dyn, dyn>(33, 129), 21);
    auto a = convert<bf16>(a32);
    auto b = convert<bf16>(b32);
    auto expected = matmul<false, true>(a, b); // reference: double accumulation of the bf16 values
    static_assert(std::is_same_v<decltype(expected)::value_type, float>);
    auto got = matmul<false, true>(on<B>(a), on<B>(b));
    CHECK(relative_error(got, expected) <= f32_tolerance);
    // Against the f32 product the error is bf16's: 8 bits of mantissa, ~2^-8 relative per input.
    CHECK(relative_error(got, matmul<false, true>(a32, b32)) <= 1e-2);
    CHECK(relative_error(matmul<true, false>(on<B>(a), on<B>(a)), matmul<true, false>(a, a)) <= f32_tolerance);
}

namespace {

/// a and b with every element rounded to bf16 and kept in float.
template <class T, class E, class B>
tensor<T, E, B> rounded_to_bf16(const tensor<T, E, B>& x) {
    return convert<float>(convert<bf16>(x));
}

} // namespace

TEST_CASE_TEMPLATE("backends: matmul_precision bf16 multiplies bf16-rounded float operands, strided and batched views included", B,
                   STARBUCKS_TEST_BACKENDS) {
    auto x = input<backend::reference>(extents<3, 33, 70>{}, 30);
    auto w = input<backend::reference>(extents<19, 70>{}, 31);
    auto y = input<backend::reference>(extents<3, 70, 21>{}, 32);
    const auto xr = rounded_to_bf16(x);
    const auto wr = rounded_to_bf16(w);
    const auto yr = rounded_to_bf16(y);
    // The expected products are plain f32 ones of the rounded values, on the reference backend.
    const auto e_nt = matmul_nt(xr, wr);
    const auto e_batched = matmul(xr, yr);
    const auto e_tn = matmul<true, false>(select<0>(xr, 1), select<0>(xr, 2));
    const auto e_slice = matmul_nt(slice(select<0>(xr, 0), 1, 5, 60), slice(wr, 1, 5, 60));
    const auto e_prefix = matmul(prefix(select<0>(xr, 2), 9), transpose<0, 1>(prefix(wr, 9)));
    auto xb = on<B>(x);
    auto wb = on<B>(w);
    auto yb = on<B>(y);
    {
        matmul_precision_scope bf16_products(matmul_precision::bf16);
        CHECK(relative_error(matmul_nt(xb, wb), e_nt) <= f32_tolerance);
        CHECK(relative_error(matmul(xb, yb), e_batched) <= f32_tolerance);
        CHECK(relative_error(matmul<true, false>(select<0>(xb, 1), select<0>(xb, 2)), e_tn) <= f32_tolerance);
        CHECK(relative_error(matmul_nt(slice(select<0>(xb, 0), 1, 5, 60), slice(wb, 1, 5, 60)), e_slice) <= f32_tolerance);
        CHECK(relative_error(matmul(prefix(select<0>(xb, 2), 9), transpose<0, 1>(prefix(wb, 9))), e_prefix) <= f32_tolerance);
        // The accumulating form: c = 0.5 * a bᵀ + 2 c.
        auto c = on<B>(input<backend::reference>(extents<3, 33, 19>{}, 33));
        auto expected_c = matmul_nt(xr, wr);
        {
            auto c_ref = on<backend::reference>(c);
            for (std::size_t i = 0; i < expected_c.size(); ++i) expected_c.data()[i] = 0.5f * expected_c.data()[i] + 2.0f * c_ref.data()[i];
        }
        matmul_into<false, true>(c.view(), as_const_view(xb), as_const_view(wb), 0.5f, 2.0f);
        CHECK(relative_error(c, expected_c) <= f32_tolerance);
        // f64 products are never rounded (on the backends that have f64 kernels).
        if constexpr (testing::has_f64<B>) {
            auto xd = convert<double>(x);
            auto wd = convert<double>(w);
            CHECK(relative_error(matmul_nt(on<B>(xd), on<B>(wd)), matmul_nt(xd, wd)) == 0.0);
        }
    }
    // The rounding is real: these inputs are not bf16 values, so the products differ from f32
    // ones by bf16's error, and the scope's end restores f32.
    const double bf16_vs_f32 = relative_error(e_nt, matmul_nt(x, w));
    CHECK(bf16_vs_f32 > 1e-4);
    CHECK(bf16_vs_f32 < 1e-2);
    CHECK(current_matmul_precision() == matmul_precision::f32);
    CHECK(relative_error(matmul_nt(xb, wb), matmul_nt(x, w)) <= f32_tolerance);
}

TEST_CASE_TEMPLATE("backends: gradients of a linear layer under matmul_precision bf16 are the products of rounded operands", B,
                   STARBUCKS_TEST_BACKENDS) {
    auto x = input<backend::reference>(extents<17, 40>{}, 40);
    auto w = input<backend::reference>(extents<23, 40>{}, 41);
    auto dy = input<backend::reference>(extents<17, 23>{}, 42);
    // dx = dy w, dw = dyᵀ x, each with both operands rounded.
    const auto dx_expected = matmul(rounded_to_bf16(dy), rounded_to_bf16(w));
    const auto dw_expected = matmul<true, false>(rounded_to_bf16(dy), rounded_to_bf16(x));
    auto xv = ag::parameter(on<B>(x));
    auto wv = ag::parameter(on<B>(w));
    matmul_precision_scope bf16_products(matmul_precision::bf16);
    ag::tape tape;
    auto on_tape = tape.activate();
    auto yv = ag::matmul_nt(xv, wv);
    CHECK(relative_error(yv.value(), matmul_nt(rounded_to_bf16(x), rounded_to_bf16(w))) <= f32_tolerance);
    // sum(y * dy) seeds y's gradient with exactly dy.
    auto loss = ag::sum(ag::mul(yv, ag::constant_input(on<B>(dy))));
    tape.backward({loss});
    CHECK(relative_error(contiguous(xv.grad()), dx_expected) <= f32_tolerance);
    CHECK(relative_error(contiguous(wv.grad()), dw_expected) <= f32_tolerance);
}

TEST_CASE_TEMPLATE("backends: linear layers with a fused epilogue (bias, GELU, residual) match the unfused reference ops", B,
                   STARBUCKS_TEST_BACKENDS) {
    using act = backend::gemm_activation;
    for (std::size_t rows : {1, 7, 33})
        for (std::size_t in : {3, 129})
            for (std::size_t out : {1, 33}) {
                INFO("rows=" << rows << " in=" << in << " out=" << out);
                auto x = input<backend::reference>(extents<dyn, dyn, dyn>(2, rows, in), 50);
                auto w = input<backend::reference>(extents<dyn, dyn>(out, in), 51);
                auto b = input<backend::reference>(extents<dyn>(out), 52);
                auto r = input<backend::reference>(extents<dyn, dyn, dyn>(2, rows, out), 53);
                // The oracle: the reference backend's separate product, broadcast add and GELU.
                const auto plain = add(matmul_nt(x, w), b);
                CHECK(relative_error(linear(on<B>(x), on<B>(w), on<B>(b)), plain) <= f32_tolerance);
                CHECK(relative_error(linear(on<B>(x), on<B>(w), on<B>(b), act::gelu), gelu(plain)) <= f32_tolerance);
                CHECK(relative_error(linear_residual(on<B>(x), on<B>(w), on<B>(b), on<B>(r)), add(plain, r)) <= f32_tolerance);
            }
    // Strided operands: a prefix of a wider weight (the MLM head's sub-dimension transform), a
    // slice of x, and a transposed residual view (copied once to the product's layout).
    auto x = input<backend::reference>(extents<3, 10, 48>{}, 54);
    auto w = input<backend::reference>(extents<40, 64>{}, 55);
    auto b = input<backend::reference>(extents<40>{}, 56);
    auto rt = input<backend::reference>(extents<40, 10>{}, 57);
    const auto xs = slice(select<0>(x, 1), 1, 4, 48); // (10, 44): columns 4..47 of one batch entry
    const auto expected = add(add(matmul_nt(xs, prefix(w, 44, 1)), b), transpose<0, 1>(rt));
    auto xb = on<B>(x);
    auto wb = on<B>(w);
    auto rb = on<B>(rt);
    CHECK(relative_error(linear_residual(slice(select<0>(xb, 1), 1, 4, 48), prefix(wb, 44, 1), on<B>(b), transpose<0, 1>(rb)),
                         expected) <= f32_tolerance);
    // An empty inner extent: the product is zero, the epilogue still runs.
    auto x0 = tensor<float, extents<dyn, dyn, dyn>, B>(extents<dyn, dyn, dyn>(2, 3, 0));
    auto w0 = tensor<float, extents<dyn, dyn>, B>(extents<dyn, dyn>(5, 0));
    auto b5 = input<backend::reference>(extents<dyn>(5), 58);
    auto y0 = on<backend::reference>(linear(x0, w0, on<B>(b5), act::gelu));
    const auto gelu_b = gelu(b5);
    for (std::size_t i = 0; i < y0.size(); ++i) CHECK(y0.data()[i] == doctest::Approx(gelu_b.data()[i % 5]).epsilon(1e-6));
}

TEST_CASE_TEMPLATE("backends: the gemm epilogue follows alpha and beta: act(alpha AB + beta C + bias + residual), batched", B,
                   STARBUCKS_TEST_BACKENDS) {
    // alpha != 1 with a bias is the case oneDNN cannot give its bias argument (it adds that
    // before the post-ops): the bias must then come after the scaling.
    auto a = input<backend::reference>(extents<3, 5, 9>{}, 60);
    auto w = input<backend::reference>(extents<7, 9>{}, 61);
    auto c0 = input<backend::reference>(extents<3, 5, 7>{}, 62);
    auto bias = input<backend::reference>(extents<7>{}, 63);
    auto res = input<backend::reference>(extents<3, 5, 7>{}, 64);
    const auto expected = gelu(add(add(add(scale(matmul_nt(a, w), 0.5f), scale(c0, 2.0f)), bias), res));
    for (const bool batched : {false, true}) {
        INFO("batched=" << batched);
        auto ab = on<B>(a);
        auto wb = on<B>(w);
        auto c = on<B>(c0);
        auto bb = on<B>(bias);
        auto rb = on<B>(res);
        backend::gemm_args<float> g;
        // Either one GEMM over the 15 stacked rows, or 3 batch entries sharing the weight.
        g.batch = batched ? 3 : 1;
        g.m = batched ? 5 : 15;
        g.n = 7;
        g.k = 9;
        g.trans_b = true;
        g.a = ab.data();
        g.lda = 9;
        g.stride_a = 45;
        g.b = wb.data();
        g.ldb = 9;
        g.c = c.data();
        g.ldc = 7;
        g.stride_c = 35;
        g.alpha = 0.5f;
        g.beta = 2.0f;
        g.epilogue.bias = bb.data();
        g.epilogue.residual = rb.data();
        g.epilogue.activation = backend::gemm_activation::gelu;
        B::gemm(B::default_context(), g);
        CHECK(relative_error(c, expected) <= f32_tolerance);
    }
}

TEST_CASE_TEMPLATE("backends: a fused linear layer under matmul_precision bf16 rounds the operands, not the bias", B,
                   STARBUCKS_TEST_BACKENDS) {
    auto x = input<backend::reference>(extents<2, 11, 70>{}, 65);
    auto w = input<backend::reference>(extents<19, 70>{}, 66);
    auto b = input<backend::reference>(extents<19>{}, 67);
    const auto expected = gelu(add(matmul_nt(rounded_to_bf16(x), rounded_to_bf16(w)), b));
    auto xb = on<B>(x);
    auto wb = on<B>(w);
    auto bb = on<B>(b);
    matmul_precision_scope bf16_products(matmul_precision::bf16);
    CHECK(relative_error(linear(xb, wb, bb, backend::gemm_activation::gelu), expected) <= f32_tolerance);
}

TEST_CASE("backends: matmul_precision scopes nest and belong to one thread") {
    CHECK(current_matmul_precision() == matmul_precision::f32);
    {
        matmul_precision_scope outer(matmul_precision::bf16);
        {
            matmul_precision_scope inner(matmul_precision::f32);
            CHECK(current_matmul_precision() == matmul_precision::f32);
        }
        CHECK(current_matmul_precision() == matmul_precision::bf16);
        matmul_precision seen = matmul_precision::bf16;
        std::thread other([&] { seen = current_matmul_precision(); });
        other.join();
        CHECK(seen == matmul_precision::f32);
    }
    CHECK(current_matmul_precision() == matmul_precision::f32);
}

#if defined(STARBUCKS_TEST_FAST_BACKEND)
TEST_CASE("backends: the vector bf16 rounding agrees bit for bit with bf16(float) on every kind of float") {
    std::vector<float> v;
    for (std::uint32_t bits : {0x00000000u, 0x80000000u, 0x00000001u, 0x807fffffu, 0x00800000u, 0x3f808000u, 0x3f818000u,
                               0x3f80ffffu, 0x3f807fffu, 0x7f7fffffu, 0xff7fffffu, 0x7f800000u, 0xff800000u, 0x7fc00000u,
                               0xffc00001u, 0x7f800001u, 0x7fbfffffu, 0x3f7fffffu, 0x477fe000u, 0x477ff000u})
        v.push_back(std::bit_cast<float>(bits));
    rng_stream r{77, 0};
    auto random_bits = random_uniform<float, backend::reference>(extents<dyn>(1000), r, -1e4f, 1e4f);
    for (std::size_t i = 0; i < random_bits.size(); ++i) v.push_back(random_bits.data()[i] * (i % 3 == 0 ? 1e-38f : 1.0f));
    for (std::size_t n : {v.size(), std::size_t{15}, std::size_t{16}, std::size_t{17}}) {
        std::vector<bf16> scalar(n), fast(n);
        std::vector<float> scalar_f(n), fast_f(n);
        backend::detail::round_to_bf16_scalar(v.data(), n, scalar.data());
        backend::detail::round_to_bf16(v.data(), n, fast.data());
        backend::detail::round_to_bf16_scalar(v.data(), n, scalar_f.data());
        backend::detail::round_to_bf16(v.data(), n, fast_f.data());
        for (std::size_t i = 0; i < n; ++i) {
            INFO("input bits 0x" << std::hex << std::bit_cast<std::uint32_t>(v[i]));
            CHECK(fast[i].bits == bf16(v[i]).bits);
            CHECK(scalar[i].bits == bf16(v[i]).bits);
            CHECK(std::bit_cast<std::uint32_t>(fast_f[i]) == std::uint32_t{bf16(v[i]).bits} << 16);
            CHECK(std::bit_cast<std::uint32_t>(scalar_f[i]) == std::uint32_t{bf16(v[i]).bits} << 16);
        }
    }
    const std::string path = backend::detail::cpu().avx512f ? "AVX-512F" : "scalar (no AVX-512F on this CPU)";
    MESSAGE("vector path in use: " << path);
}
#endif

} }  // namespace test_backends
