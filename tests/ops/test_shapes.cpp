// SPDX-License-Identifier: Apache-2.0
// Op shapes: run-time shape errors on dynamic extents (exact messages) and static result extents.
#include "testing.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_shapes {

using namespace starbucks;
using starbucks::testing::error_message;
using starbucks::testing::random;

namespace {
template <class E>
using f32 = tensor<float, E>;
template <class E>
using i64 = tensor<std::int64_t, E>;
} // namespace

// ---- run-time shape errors ----

TEST_CASE("shapes: linear and linear_residual name the bias, residual and operand shapes that disagree") {
    f32<dextents<3>> x(2, 3, 8);
    f32<dextents<2>> w(5, 8), w_wrong(5, 7);
    f32<dextents<1>> b(5), b_wrong(4);
    f32<dextents<3>> r(2, 3, 5), r_wrong(2, 5, 3);
    CHECK(linear(x, w, b).dims() == shape{2, 3, 5});
    CHECK(error_message([&] { (void)linear(x, w_wrong, b); }) == "starbucks::linear: inner extents differ: lhs (2, 3, 8) vs rhs (5, 7)");
    CHECK(error_message([&] { (void)linear(x, w, b_wrong); }) == "starbucks::linear: bias (4) vs weight (5, 8)");
    CHECK(error_message([&] { (void)linear_residual(x, w, b, r_wrong); }) ==
          "starbucks::linear_residual: residual (2, 5, 3) vs product (2, 3, 5)");
    CHECK(linear_residual(x, w, b, r).dims() == shape{2, 3, 5});
}

TEST_CASE("shapes: matmul with differing dynamic inner extents names both shapes") {
    f32<dextents<2>> a(32, 768), b(384, 128);
    CHECK_THROWS_AS(matmul(a, b), shape_error);
    CHECK(error_message([&] { (void)matmul(a, b); }) == "starbucks::matmul: inner extents differ: lhs (32, 768) vs rhs (384, 128)");
    // The transposing forms compare the axes they contract.
    f32<dextents<2>> c(768, 32);
    CHECK(matmul<true, false>(c, f32<dextents<2>>(768, 5)).dims() == shape{32, 5});
    CHECK(error_message([&] { (void)matmul<true, false>(c, b); }) ==
          "starbucks::matmul: inner extents differ: lhs (768, 32) vs rhs (384, 128)");
    CHECK(error_message([&] { (void)matmul_nt(a, b); }) ==
          "starbucks::matmul: inner extents differ: lhs (32, 768) vs rhs (384, 128)");
    // A half-static operand is checked at run time on its dynamic side.
    f32<extents<dyn, 768>> s(2);
    CHECK(error_message([&] { (void)matmul(s, b); }) == "starbucks::matmul: inner extents differ: lhs (2, 768) vs rhs (384, 128)");
}

TEST_CASE("shapes: batched matmul checks batch extents and batch ranks") {
    f32<dextents<3>> a(2, 3, 4), b(3, 4, 5);
    CHECK(error_message([&] { (void)matmul(a, b); }) ==
          "starbucks::matmul: batch extents differ: lhs (2, 3, 4) vs rhs (3, 4, 5)");
    f32<dextents<4>> d(1, 2, 4, 5);
    CHECK(error_message([&] { (void)matmul(a, d); }) ==
          "starbucks::matmul: batch ranks differ: lhs (2, 3, 4) vs rhs (1, 2, 4, 5)");
    // A rank-2 operand is shared by every batch entry.
    f32<dextents<2>> w(4, 5);
    CHECK(matmul(a, w).dims() == shape{2, 3, 5});
}

TEST_CASE("shapes: matmul_into rejects an output of the wrong shape or layout") {
    f32<extents<2, 3>> a;
    f32<extents<3, 4>> b;
    f32<extents<2, 5>> wrong;
    CHECK(error_message([&] { matmul_into<false, false>(wrong.view(), as_const_view(a), as_const_view(b), 1.0f, 0.0f); }) ==
          "starbucks::matmul_into: output (2, 5) strides (5, 1) must be contiguous (2, 4)");
    f32<extents<4, 2>> t;
    CHECK_THROWS_AS((matmul_into<false, false>(transpose<0, 1>(t), as_const_view(a), as_const_view(b), 1.0f, 0.0f)), shape_error);
}

TEST_CASE("shapes: matmul over an empty inner extent is beta times the output") {
    f32<extents<2, dyn>> a(0);
    f32<extents<dyn, 3>> b(0);
    auto c = full<float>(extents<2, 3>{}, 4.0f);
    matmul_into<false, false>(c.view(), as_const_view(a), as_const_view(b), 1.0f, 0.5f);
    CHECK(c(1, 2) == 2.0f);
    auto nan = full<float>(extents<2, 3>{}, std::numeric_limits<float>::quiet_NaN());
    matmul_into<false, false>(nan.view(), as_const_view(a), as_const_view(b), 1.0f, 0.0f);
    CHECK(nan(0, 0) == 0.0f); // beta == 0 overwrites, NaN included
    CHECK(matmul(a, b)(1, 1) == 0.0f);
}

TEST_CASE("shapes: element-wise ops reject shapes that do not broadcast") {
    f32<dextents<2>> a(2, 3);
    f32<dextents<1>> b(4);
    CHECK_THROWS_AS(add(a, b), shape_error);
    CHECK(error_message([&] { (void)add(a, b); }) == "starbucks::add: shapes (2, 3) and (4) do not broadcast");
    CHECK(error_message([&] { (void)sub(a, b); }) == "starbucks::sub: shapes (2, 3) and (4) do not broadcast");
    CHECK(error_message([&] { (void)mul(b, a); }) == "starbucks::mul: shapes (4) and (2, 3) do not broadcast");
    f32<dextents<2>> c(3, 3);
    CHECK(error_message([&] { (void)div(a, c); }) == "starbucks::div: shapes (2, 3) and (3, 3) do not broadcast");
    // Extent 1 and missing axes do broadcast.
    f32<dextents<2>> col(2, 1);
    CHECK(add(a, col).dims() == shape{2, 3});
    CHECK(add(f32<dextents<3>>(4, 1, 3), a).dims() == shape{4, 2, 3});
}

TEST_CASE("shapes: softmax with a mask rejects one that does not broadcast to x") {
    f32<dextents<2>> x(2, 3);
    CHECK(error_message([&] { (void)softmax(x, f32<dextents<2>>(2, 4)); }) ==
          "starbucks::softmax: shapes (2, 3) and (2, 4) do not broadcast");
    // A mask that broadcasts, but to something larger than x.
    CHECK(error_message([&] { (void)softmax(x, f32<dextents<3>>(4, 2, 3)); }) ==
          "starbucks::softmax: mask (4, 2, 3) does not broadcast to (2, 3)");
    CHECK(softmax(x, f32<dextents<2>>(1, 3)).dims() == shape{2, 3});
}

TEST_CASE("shapes: layer_norm rejects gamma or beta that differ from the last extent") {
    f32<dextents<2>> x(2, 8);
    f32<dextents<1>> g7(7), g8(8);
    CHECK_THROWS_AS(layer_norm(x, g7, g8, 1e-5f), shape_error);
    CHECK(error_message([&] { (void)layer_norm(x, g7, g8, 1e-5f); }) ==
          "starbucks::layer_norm: gamma (7) and beta (8) must match the last extent of (2, 8)");
    CHECK(error_message([&] { (void)layer_norm(x, g8, g7, 1e-5f); }) ==
          "starbucks::layer_norm: gamma (8) and beta (7) must match the last extent of (2, 8)");
    CHECK_NOTHROW((void)layer_norm(x, g8, g8, 1e-5f));
}

TEST_CASE("shapes: cross_entropy rejects a label outside 0..V-1 and a row count mismatch") {
    auto logits = random<float>(dextents<2>(3, 5), 1);
    i64<dextents<1>> labels(3);
    labels(0) = 0;
    labels(1) = 5;
    labels(2) = 4;
    CHECK_THROWS_AS(cross_entropy(logits, labels), shape_error);
    CHECK(error_message([&] { (void)cross_entropy(logits, labels); }) ==
          "starbucks::cross_entropy: label 5 of row 1 is outside [0, 5)");
    labels(1) = -1; // negative and not the ignore index
    CHECK(error_message([&] { (void)cross_entropy(logits, labels); }) ==
          "starbucks::cross_entropy: label -1 of row 1 is outside [0, 5)");
    labels(1) = ignore_index_default;
    CHECK_NOTHROW((void)cross_entropy(logits, labels));
    labels(1) = -1; // with a custom ignore index, -1 is skipped
    CHECK_NOTHROW((void)cross_entropy(logits, labels, -1));
    i64<dextents<1>> two(2);
    CHECK(error_message([&] { (void)cross_entropy(logits, two); }) == "starbucks::cross_entropy: logits (3, 5) vs labels (2)");
}

TEST_CASE("shapes: kl_div rejects operands of different shapes and empty ones") {
    f32<dextents<2>> q(2, 3), p(2, 4), empty(0, 3);
    CHECK_THROWS_AS(kl_div(q, p), shape_error);
    CHECK(error_message([&] { (void)kl_div(q, p); }) == "starbucks::kl_div: shapes differ: (2, 3) vs (2, 4)");
    CHECK(error_message([&] { (void)kl_div(empty, empty); }) == "starbucks::kl_div: empty tensor (0, 3)");
}

TEST_CASE("shapes: masked_mean rejects a mask whose (B, T) differs from x") {
    f32<dextents<3>> x(2, 3, 4);
    f32<dextents<2>> mask(2, 4);
    CHECK_THROWS_AS(masked_mean(x, mask), shape_error);
    CHECK(error_message([&] { (void)masked_mean(x, mask); }) == "starbucks::masked_mean: x (2, 3, 4) vs mask (2, 4)");
    CHECK(error_message([&] { (void)masked_mean(x, f32<dextents<2>>(1, 3)); }) ==
          "starbucks::masked_mean: x (2, 3, 4) vs mask (1, 3)");
}

TEST_CASE("shapes: concat rejects extents that differ off the concatenation axis") {
    f32<dextents<2>> a(2, 3), b(2, 4);
    CHECK_THROWS_AS(concat<0>(a, b), shape_error);
    CHECK(error_message([&] { (void)concat<0>(a, b); }) == "starbucks::concat: extents off axis 0 differ: (2, 3) vs (2, 4)");
    auto ab = concat<1>(a, b);
    CHECK(ab.dims() == shape{2, 7});
    CHECK(error_message([&] { (void)concat<1>(a, f32<dextents<2>>(3, 3)); }) ==
          "starbucks::concat: extents off axis 1 differ: (2, 3) vs (3, 3)");
}

TEST_CASE("shapes: concat places a before b along the axis") {
    auto a = random<float>(extents<2, 3>{}, 2);
    auto b = random<float>(extents<2, 2>{}, 3);
    auto ab = concat<1>(a, b);
    static_assert(std::is_same_v<decltype(ab), f32<extents<2, 5>>>);
    CHECK(ab(1, 2) == a(1, 2));
    CHECK(ab(1, 3) == b(1, 0));
    auto rows = concat<0>(transpose<0, 1>(a), transpose<0, 1>(b)); // strided operands
    CHECK(rows.dims() == shape{5, 2});
    CHECK(rows(4, 1) == b(1, 1));
}

TEST_CASE("shapes: cosine_similarity rejects rows of different widths") {
    f32<dextents<2>> a(2, 3), b(4, 5);
    CHECK_THROWS_AS(cosine_similarity(a, b), shape_error);
    CHECK(error_message([&] { (void)cosine_similarity(a, b); }) ==
          "starbucks::cosine_similarity: widths differ: lhs (2, 3) vs rhs (4, 5)");
}

TEST_CASE("shapes: dropout rejects a probability outside 0..1 as a usage_error") {
    auto x = full<float>(dextents<2>(2, 3), 1.0f);
    CHECK_THROWS_AS(dropout(x, -0.1f, rng_stream{}), usage_error);
    CHECK_THROWS_AS(dropout(x, 1.5f, rng_stream{}), usage_error);
    CHECK_THROWS_AS(dropout(x, std::numeric_limits<float>::quiet_NaN(), rng_stream{}), usage_error);
    CHECK(error_message([&] { (void)dropout(x, 1.5f, rng_stream{}); }) == "starbucks::dropout: probability 1.500000 is outside [0, 1]");
    CHECK_NOTHROW((void)dropout(x, 0.0f, rng_stream{}));
    CHECK_NOTHROW((void)dropout(x, 1.0f, rng_stream{}));
    CHECK(sum(dropout(x, 0.0f, rng_stream{}).y)() == 6.0f); // p = 0 keeps everything unscaled
}

TEST_CASE("shapes: embedding rejects an id outside the table") {
    auto table = random<float>(dextents<2>(4, 3), 4);
    i64<dextents<2>> ids(1, 2);
    ids(0, 1) = -1;
    CHECK(error_message([&] { (void)embedding(table, ids); }) == "starbucks::gather_rows: index -1 at position 1 is outside [0, 4)");
}

// ---- static result extents ----

TEST_CASE("shapes: matmul keeps static extents: (dyn, 768) x (768, 3072) is (dyn, 3072)") {
    f32<extents<dyn, 768>> x(2);
    f32<extents<768, 3072>> w;
    auto y = matmul(x, w);
    static_assert(std::is_same_v<decltype(y), f32<extents<dyn, 3072>>>);
    CHECK(y.dims() == shape{2, 3072});
    f32<extents<3072, 768>> w_hf; // Hugging Face [out, in]
    static_assert(std::is_same_v<decltype(matmul_nt(x, w_hf)), f32<extents<dyn, 3072>>>);
    static_assert(std::is_same_v<decltype(matmul<true, false>(x, f32<extents<dyn, 5>>(2))), f32<extents<768, 5>>>);
}

TEST_CASE("shapes: batched matmul result extents merge the batch axes") {
    f32<extents<dyn, 12, dyn, 64>> q(1, 4), k(1, 4);
    auto scores = matmul_nt(q, k); // (B, H, T, T)
    static_assert(std::is_same_v<decltype(scores), f32<extents<dyn, 12, dyn, dyn>>>);
    CHECK(scores.dims() == shape{1, 12, 4, 4});
    f32<extents<dyn, dyn, 8>> h(2, 3);
    f32<extents<8, 16>> w;
    static_assert(std::is_same_v<decltype(matmul(h, w)), f32<extents<dyn, dyn, 16>>>);
    f32<extents<2, dyn, 5>> lhs(3);
    f32<extents<dyn, 5, 7>> rhs(2);
    static_assert(std::is_same_v<decltype(matmul(lhs, rhs)), f32<extents<2, dyn, 7>>>);
    CHECK(matmul(lhs, rhs).dims() == shape{2, 3, 7});
}

TEST_CASE("shapes: element-wise, reduction and normalisation results keep static extents") {
    f32<extents<dyn, dyn, 768>> x(2, 3);
    f32<extents<768>> bias;
    static_assert(std::is_same_v<decltype(add(x, bias)), f32<extents<dyn, dyn, 768>>>);
    static_assert(std::is_same_v<decltype(mul(f32<extents<dyn, 1>>(4), f32<extents<1, 8>>{})), f32<extents<dyn, 8>>>);
    static_assert(std::is_same_v<decltype(gelu(x)), f32<extents<dyn, dyn, 768>>>);
    static_assert(std::is_same_v<decltype(softmax(x)), f32<extents<dyn, dyn, 768>>>);
    static_assert(std::is_same_v<decltype(layer_norm(x, bias, bias, 1e-12f)), f32<extents<dyn, dyn, 768>>>);
    static_assert(std::is_same_v<decltype(sum(x)), f32<extents<>>>);
    static_assert(std::is_same_v<decltype(mean<1>(x)), f32<extents<dyn, 768>>>);
    static_assert(std::is_same_v<decltype(sum<2>(x)), f32<extents<dyn, dyn>>>);
    static_assert(std::is_same_v<decltype(logsumexp(x)), f32<extents<dyn, dyn>>>);
    CHECK(add(x, bias).dims() == shape{2, 3, 768});
    CHECK(mean<1>(x).dims() == shape{2, 768});
}

TEST_CASE("shapes: pooling, similarity, losses, gather and concat results have the documented extents") {
    f32<extents<dyn, dyn, 8>> h(2, 5);
    f32<extents<dyn, dyn>> mask(2, 5);
    auto pooled = masked_mean(h, mask);
    static_assert(std::is_same_v<decltype(pooled), f32<extents<dyn, 8>>>);
    CHECK(pooled.dims() == shape{2, 8});
    auto sim = cosine_similarity(pooled, f32<extents<3, 8>>{});
    static_assert(std::is_same_v<decltype(sim), f32<extents<dyn, 3>>>);
    CHECK(sim.dims() == shape{2, 3});
    static_assert(std::is_same_v<decltype(cross_entropy(f32<extents<dyn, 5>>(2), i64<extents<dyn>>(2))), f32<extents<>>>);
    static_assert(std::is_same_v<decltype(kl_div(f32<extents<dyn, 5>>(2), f32<extents<2, dyn>>(5))), f32<extents<>>>);
    auto table = random<float>(extents<10, 8>{}, 5);
    auto emb = embedding(table, i64<extents<dyn, dyn>>(2, 5));
    static_assert(std::is_same_v<decltype(emb), f32<extents<dyn, dyn, 8>>>);
    CHECK(emb.dims() == shape{2, 5, 8});
    static_assert(std::is_same_v<decltype(concat<0>(f32<extents<2, 8>>{}, f32<extents<3, 8>>{})), f32<extents<5, 8>>>);
    static_assert(std::is_same_v<decltype(concat<1>(f32<extents<2, dyn>>(1), f32<extents<dyn, 4>>(2))), f32<extents<2, dyn>>>);
    static_assert(std::is_same_v<decltype(dropout(h, 0.1f, rng_stream{}).mask), f32<extents<dyn, dyn, 8>>>);
    static_assert(std::is_same_v<decltype(convert<bf16>(h)), tensor<bf16, extents<dyn, dyn, 8>>>);
}

} }  // namespace test_shapes
