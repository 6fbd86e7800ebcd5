// SPDX-License-Identifier: Apache-2.0
// Fused multi-head attention against the same attention composed of separate ops (values and
// gradients, dropout included), on every backend, and its shape errors.
#include "testing.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_attention {

using namespace starbucks;
namespace ag = starbucks::autograd;
using starbucks::testing::error_message;
using starbucks::testing::relative_error;

namespace {

/// Sizes of one case: batch, tokens, heads, head width.
struct dims {
    std::size_t batch, tokens, heads, head_size;
    std::size_t width() const { return heads * head_size; }
};

template <class T, class B>
tensor<T, dextents<3>, B> uniform(const dims& d, std::uint64_t seed) {
    return random_uniform<T, B>(dextents<3>(d.batch, d.tokens, d.width()), rng_stream{seed, 0}, T(-1), T(1));
}

/// An additive key mask (B, 1, 1, T): sample b pads its last b % T tokens (lowest finite T).
template <class T, class B>
tensor<T, dextents<4>, B> padding_mask(const dims& d) {
    tensor<T, dextents<4>, backend::host_backend_t<B>> m(dextents<4>(d.batch, 1, 1, d.tokens));
    for (std::size_t b = 0; b < d.batch; ++b)
        for (std::size_t t = 0; t < d.tokens; ++t)
            m(b, 0, 0, t) = t + b % d.tokens >= d.tokens ? std::numeric_limits<T>::lowest() : T(0);
    return to<B>(std::move(m));
}

/// The values of out and the gradients of q, k, v for loss = Σ out ⊙ w, taken either through the
/// fused op or through the ops BERT used before it (reshape, transpose, batched products,
/// masked softmax, dropout over the whole (B, H, T, T) tensor).
template <class T, class B>
struct result {
    std::vector<T> out, dq, dk, dv;
};

template <class T>
std::vector<T> values(const auto& t) {
    const auto c = host_copy(as_const_view(t));
    return std::vector<T>(c.data(), c.data() + c.size());
}

template <class T, class B>
result<T, B> run(const dims& d, bool fused, bool masked, T p, bool grads = true) {
    auto q = ag::parameter(uniform<T, B>(d, 1));
    auto k = ag::parameter(uniform<T, B>(d, 2));
    auto v = ag::parameter(uniform<T, B>(d, 3));
    auto mask = ag::constant_input(padding_mask<T, B>(d));
    auto w = ag::constant_input(uniform<T, B>(d, 4));
    attention_options<T> o;
    o.heads = d.heads;
    o.scale = T(1) / std::sqrt(T(d.head_size));
    o.dropout_p = p;
    o.rng = rng_stream{7, 11};
    ag::tape tape;
    auto on_tape = tape.activate();
    ag::var<T, dextents<3>, B> out;
    if (fused) {
        out = masked ? ag::attention(q, k, v, mask, o) : ag::attention(q, k, v, o);
    } else {
        const dextents<4> split(d.batch, d.tokens, d.heads, d.head_size);
        auto q4 = ag::transpose<1, 2>(ag::reshape(q, split));
        auto k4 = ag::transpose<1, 2>(ag::reshape(k, split));
        auto v4 = ag::transpose<1, 2>(ag::reshape(v, split));
        auto scores = ag::matmul<false, true>(q4, k4, o.scale);
        auto probs = masked ? ag::softmax(scores, mask) : ag::softmax(scores);
        if (p != T(0)) probs = ag::dropout(probs, p, o.rng);
        auto context = ag::transpose<1, 2>(ag::matmul(probs, v4));
        out = ag::reshape(ag::contiguous(context), dextents<3>(d.batch, d.tokens, d.width()));
    }
    result<T, B> r;
    r.out = values<T>(out.value());
    if (!grads) return r;
    tape.backward({ag::sum(ag::mul(out, w))});
    r.dq = values<T>(q.grad());
    r.dk = values<T>(k.grad());
    r.dv = values<T>(v.grad());
    return r;
}

template <class T>
double max_relative(const std::vector<T>& a, const std::vector<T>& b) {
    REQUIRE(a.size() == b.size());
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        num = std::max(num, std::abs(double(a[i]) - double(b[i])));
        den = std::max(den, std::abs(double(b[i])));
    }
    return den == 0 ? num : num / den;
}

void check_close(const auto& got, const auto& expected, double tol) {
    CHECK(max_relative(got.out, expected.out) <= tol);
    CHECK(max_relative(got.dq, expected.dq) <= tol);
    CHECK(max_relative(got.dk, expected.dk) <= tol);
    CHECK(max_relative(got.dv, expected.dv) <= tol);
}

} // namespace

TEST_CASE("attention: the fused op equals the composed ops in float64, masked or not, with and without dropout") {
    // Small tiles run several samples per chunk; 4 heads of 130 tokens exceed the scratch and
    // run one sample per chunk; one token and one head are the edges.
    const dims cases[] = {{3, 5, 3, 2}, {2, 130, 4, 3}, {4, 1, 2, 4}, {2, 9, 1, 5}};
    for (const dims& d : cases)
        for (const bool masked : {false, true})
            for (const double p : {0.0, 0.25}) {
                INFO("B=" << d.batch << " T=" << d.tokens << " H=" << d.heads << " D=" << d.head_size << " masked=" << masked << " p=" << p);
                const auto expected = run<double, backend::reference>(d, false, masked, p);
                const auto got = run<double, backend::reference>(d, true, masked, p);
                check_close(got, expected, 1e-13);
            }
}

/// out and dq, dk, dv (which start at 0.5, to show the backward adds) straight from the kernel,
/// in place or head-major, `scratch` score elements per chunk (0: the way's default).
template <class T>
result<T, backend::reference> kernel_run(const dims& d, bool head_major, std::size_t scratch, bool masked, T p, bool with_dk = true) {
    using B = backend::reference;
    const auto q = uniform<T, B>(d, 1), k = uniform<T, B>(d, 2), v = uniform<T, B>(d, 3), w = uniform<T, B>(d, 4);
    const auto mask = padding_mask<T, B>(d);
    attention_options<T> o;
    o.heads = d.heads;
    o.scale = T(1) / std::sqrt(T(d.head_size));
    o.dropout_p = p;
    o.rng = rng_stream{7, 11};
    const detail::attention_kernel<T, B> a(d.batch, d.tokens, d.width(), q.data(), k.data(), v.data(), masked ? mask.data() : nullptr, o,
                                           head_major, scratch);
    result<T, B> r;
    r.out.assign(q.size(), T(0));
    r.dq.assign(q.size(), T(0.5));
    r.dk.assign(with_dk ? q.size() : 0, T(0.5));
    r.dv.assign(q.size(), T(0.5));
    a.forward(r.out.data());
    a.backward(w.data(), r.dq.data(), with_dk ? r.dk.data() : nullptr, r.dv.data());
    return r;
}

TEST_CASE_TEMPLATE("attention: head-major chunks (device backends) give the in-place chunks' bits (host backends)", T, float, double) {
    // One chunk of every sample, chunks of two samples with a remainder, and one per sample.
    const dims d{5, 7, 3, 4};
    const std::size_t tile = d.heads * d.tokens * d.tokens;
    for (const std::size_t scratch : {std::size_t{0}, 2 * tile, tile})
        for (const bool masked : {false, true})
            for (const T p : {T(0), T(0.25)}) {
                INFO("scratch=" << scratch << " masked=" << masked << " p=" << p);
                const auto in_place = kernel_run<T>(d, false, scratch, masked, p);
                const auto head_major = kernel_run<T>(d, true, scratch, masked, p);
                CHECK(in_place.out == head_major.out);
                CHECK(in_place.dq == head_major.dq);
                CHECK(in_place.dk == head_major.dk);
                CHECK(in_place.dv == head_major.dv);
                // And the values are attention's, not merely equal: the composed ops agree.
                if constexpr (std::is_same_v<T, double>) {
                    auto expected = run<double, backend::reference>(d, false, masked, double(p));
                    for (auto* g : {&expected.dq, &expected.dk, &expected.dv})
                        for (double& x : *g) x += 0.5;
                    check_close(head_major, expected, 1e-13);
                }
            }
    const auto skipped = kernel_run<T>(d, true, 0, true, T(0.25), false); // no dk wanted
    CHECK(skipped.dq == kernel_run<T>(d, false, 0, true, T(0.25), false).dq);
}

TEST_CASE("attention: dropout draws the mask of one pass over (B, H, T, T), so some probabilities are dropped and the rest scaled") {
    // Against p = 0 the output must change (a mask was drawn), and with p = 1 every
    // probability is dropped: the output and every gradient are zero.
    const dims d{3, 6, 2, 3};
    const auto kept = run<double, backend::reference>(d, true, true, 0.0);
    const auto dropped = run<double, backend::reference>(d, true, true, 0.5);
    CHECK(max_relative(dropped.out, kept.out) > 1e-3);
    const auto all = run<double, backend::reference>(d, true, true, 1.0);
    for (const auto* g : {&all.out, &all.dq, &all.dk, &all.dv})
        for (double x : *g) CHECK(x == 0.0);
}

TEST_CASE_TEMPLATE("attention: every backend's fused op matches the reference backend, forward and backward", B, STARBUCKS_TEST_BACKENDS) {
    const dims cases[] = {{3, 7, 3, 4}, {2, 130, 4, 8}, {5, 32, 12, 2}};
    for (const dims& d : cases)
        for (const float p : {0.0f, 0.1f}) {
            INFO("B=" << d.batch << " T=" << d.tokens << " H=" << d.heads << " D=" << d.head_size << " p=" << p);
            const auto expected = run<float, backend::reference>(d, false, true, p);
            check_close(run<float, B>(d, true, true, p), expected, 2e-5);
        }
}

TEST_CASE("attention: unrecorded (inference) gives the recorded forward's values") {
    const dims d{2, 11, 3, 4};
    const auto recorded = run<double, backend::reference>(d, true, true, 0.0);
    auto q = uniform<double, backend::reference>(d, 1);
    auto k = uniform<double, backend::reference>(d, 2);
    auto v = uniform<double, backend::reference>(d, 3);
    auto m = padding_mask<double, backend::reference>(d);
    attention_options<double> o;
    o.heads = d.heads;
    o.scale = 1.0 / std::sqrt(double(d.head_size));
    const auto out = attention(q, k, v, m, o);
    CHECK(values<double>(out) == recorded.out);
}

TEST_CASE("attention: shape errors name the shapes, the heads and the mask") {
    using V3 = tensor<float, dextents<3>>;
    V3 q(2, 3, 8), k(2, 3, 8), k_wrong(2, 4, 8);
    tensor<float, dextents<2>> mask(2, 3), mask_wrong(3, 2);
    attention_options<float> o;
    o.heads = 2;
    CHECK(error_message([&] { (void)attention(q, k_wrong, k, o); }) ==
          "starbucks::attention: q (2, 3, 8), k (2, 4, 8) and v (2, 3, 8) differ");
    CHECK(error_message([&] { (void)attention(q, k, k, mask_wrong, o); }) ==
          "starbucks::attention: mask (3, 2) must be (batch, tokens) or (batch, 1, 1, tokens) for q (2, 3, 8)");
    o.heads = 3;
    CHECK(error_message([&] { (void)attention(q, k, k, mask, o); }) == "starbucks::attention: width 8 is not a multiple of 3 heads");
    o.heads = 2;
    CHECK(attention(q, k, k, mask, o).extent(2) == 8);
    auto mask_var = ag::parameter(tensor<float, dextents<2>>(2, 3));
    CHECK(error_message([&] { (void)ag::attention(ag::constant_input(V3(q)), ag::constant_input(V3(k)), ag::constant_input(V3(k)), mask_var, o); }) ==
          "starbucks::autograd::attention: the additive mask is a constant; it cannot require a gradient");
}

}} // namespace ::test_attention
