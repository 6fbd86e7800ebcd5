// SPDX-License-Identifier: Apache-2.0
// tensor_view: strides, contiguity, const conversion, and ops on strided views matching contiguous copies.
#include "testing.hpp"

#include <type_traits>
#include <utility>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_view {

using namespace starbucks;
using starbucks::testing::max_abs_diff;
using starbucks::testing::random;

// The reference backend sums in the same order whatever the operand layout, so results on a
// strided view and on its contiguous copy are compared bit for bit.

TEST_CASE("view: a contiguous view has row-major strides") {
    tensor<float, extents<2, 3, 4>> x;
    auto v = x.view();
    CHECK(v.data() == x.data());
    CHECK(v.stride(0) == 12);
    CHECK(v.stride(1) == 4);
    CHECK(v.stride(2) == 1);
    CHECK(v.is_contiguous());
    CHECK(v.size() == 24);
    CHECK(to_string(v.lay()) == "(2, 3, 4) strides (12, 4, 1)");
    tensor<float, extents<dyn, 5>> y(3);
    CHECK(y.view().strides() == std::array<std::ptrdiff_t, 2>{5, 1});
}

TEST_CASE("view: writes through a view reach the tensor") {
    tensor<float, extents<2, 3>> x;
    tensor_view<float, extents<2, 3>> v = x;
    v(1, 2) = 7.0f;
    CHECK(x(1, 2) == 7.0f);
    auto copy = v; // copying a view copies no elements
    CHECK(copy.data() == x.data());
}

TEST_CASE("view: a mutable view converts to a read-only one, not the other way") {
    tensor<float, extents<dyn, 4>> x(2);
    tensor_view<float, extents<dyn, 4>> v = x;
    tensor_view<const float, extents<dyn, 4>> cv = v;
    CHECK(cv.data() == x.data());
    CHECK(cv.extents() == v.extents());
    CHECK(cv.strides() == v.strides());
    static_assert(std::is_convertible_v<tensor_view<float, extents<dyn, 4>>, tensor_view<const float, extents<dyn, 4>>>);
    static_assert(!std::is_convertible_v<tensor_view<const float, extents<dyn, 4>>, tensor_view<float, extents<dyn, 4>>>);
    static_assert(std::is_same_v<decltype(as_view(std::as_const(x))), tensor_view<const float, extents<dyn, 4>>>);
    static_assert(std::is_same_v<decltype(cv(0, 0)), const float&>);
    const auto ct = as_const_view(x);
    CHECK(ct.data() == x.data());
}

TEST_CASE("view: a transpose is a non-contiguous view of the same memory") {
    tensor<float, extents<dyn, 3>> x(4);
    auto t = transpose<0, 1>(x);
    static_assert(std::is_same_v<decltype(t), tensor_view<float, extents<3, dyn>>>);
    CHECK(t.data() == x.data());
    CHECK(t.dims() == shape{3, 4});
    CHECK(t.stride(0) == 1);
    CHECK(t.stride(1) == 3);
    CHECK_FALSE(t.is_contiguous());
    // Axes of extent 1 do not make a view non-contiguous.
    tensor<float, extents<1, 5>> row;
    CHECK(transpose<0, 1>(row).is_contiguous());
    auto back = transpose<0, 1>(t);
    CHECK(back.is_contiguous());
    CHECK(back.strides() == x.view().strides());
}

TEST_CASE("view: matmul of strided views equals matmul of their contiguous copies") {
    auto a = random<double>(extents<5, 3>{}, 1);
    auto b = random<double>(extents<5, 4>{}, 2);
    // Column-major lhs: aᵀ (3, 5) times b (5, 4).
    auto at = transpose<0, 1>(a);
    CHECK(max_abs_diff(matmul(at, b), matmul(contiguous(at), b)) == 0.0);
    // Both operands transposed views: bᵀ (4, 5) times a (5, 3), and (aᵀ)ᵀ.
    CHECK(max_abs_diff(matmul(transpose<0, 1>(b), a), matmul(contiguous(transpose<0, 1>(b)), a)) == 0.0);
    // A column slice keeps unit stride but a leading dimension wider than its width.
    auto wide = random<double>(extents<4, 9>{}, 3);
    auto cols = slice(wide, 1, 2, 7); // (4, 5), rows 9 apart
    CHECK_FALSE(cols.is_contiguous());
    CHECK(max_abs_diff(matmul(cols, a), matmul(contiguous(cols), a)) == 0.0);
    // The rhs strided in both axes (every other column): copied once, same result.
    auto w = random<double>(extents<3, 8>{}, 4);
    auto sel = select<2>(reshape(w, extents<3, 4, 2>{}), 1); // (3, 4), strides (8, 2)
    CHECK(sel.stride(1) == 2);
    CHECK(max_abs_diff(matmul(a, sel), matmul(a, contiguous(sel))) == 0.0);
}

TEST_CASE("view: batched matmul of strided views equals matmul of their contiguous copies") {
    auto x = random<double>(extents<3, 2, 4>{}, 5);
    auto w = random<double>(extents<2, 4, 5>{}, 6);
    // transpose<0, 1> of (3, 2, 4): batch axis of stride 4, rows 8 apart: usable in place.
    auto xt = transpose<0, 1>(x);
    CHECK(max_abs_diff(matmul(xt, w), matmul(contiguous(xt), w)) == 0.0);
    // Two batch axes that do not collapse into one stride: copied first.
    auto y = random<double>(extents<2, 2, 3, 4>{}, 7);
    auto yt = transpose<0, 1>(y);
    auto v = random<double>(extents<2, 2, 4, 3>{}, 8);
    CHECK(max_abs_diff(matmul(yt, v), matmul(contiguous(yt), v)) == 0.0);
    // A shared rank-2 rhs given as a transposed view, with the transposing matmul_nt.
    auto m = random<double>(extents<4, 5>{}, 9);
    CHECK(max_abs_diff(matmul_nt(xt, transpose<0, 1>(m)), matmul(contiguous(xt), m)) == 0.0);
}

TEST_CASE("view: add with broadcasting reads strided operands like their contiguous copies") {
    auto a = random<float>(extents<4, 6>{}, 10);
    auto b = random<float>(extents<6, 4>{}, 11);
    auto bt = transpose<0, 1>(b); // (4, 6)
    CHECK(max_abs_diff(add(a, bt), add(a, contiguous(bt))) == 0.0);
    CHECK(max_abs_diff(mul(bt, bt), mul(contiguous(bt), contiguous(bt))) == 0.0);
    // A strided bias: column 2 of b, a (6) view with stride 4.
    auto bias = select<1>(b, 2);
    CHECK(bias.stride(0) == 4);
    CHECK(max_abs_diff(add(a, bias), add(a, contiguous(bias))) == 0.0);
    CHECK(add(a, bias)(3, 5) == a(3, 5) + b(5, 2));
}

TEST_CASE("view: softmax and log_softmax of a strided view equal those of its contiguous copy") {
    auto x = random<double>(extents<5, 7>{}, 12, -4.0, 4.0);
    auto t = transpose<0, 1>(x); // softmax runs along the old axis 0
    CHECK(max_abs_diff(softmax(t), softmax(contiguous(t))) == 0.0);
    CHECK(max_abs_diff(log_softmax(t), log_softmax(contiguous(t))) == 0.0);
    auto s = softmax(t);
    double col_sum = 0;
    for (int r = 0; r < 5; ++r) col_sum += s(2, r);
    CHECK(col_sum == doctest::Approx(1.0).epsilon(1e-14));
}

TEST_CASE("view: layer_norm of strided x, gamma and beta equals that of contiguous copies") {
    auto x = random<double>(extents<8, 3>{}, 13);
    auto g = random<double>(extents<8, 2>{}, 14, 0.5, 1.5);
    auto xt = transpose<0, 1>(x); // (3, 8)
    auto gamma = select<1>(g, 0); // (8), stride 2
    auto beta = select<1>(g, 1);
    CHECK_FALSE(gamma.is_contiguous());
    auto strided = layer_norm(xt, gamma, beta, 1e-5);
    auto dense = layer_norm(contiguous(xt), contiguous(gamma), contiguous(beta), 1e-5);
    CHECK(max_abs_diff(strided, dense) == 0.0);
}

TEST_CASE("view: reductions and element-wise ops on views see only the viewed elements") {
    auto x = random<double>(extents<4, 6>{}, 15);
    auto p = prefix<3>(x); // (4, 3), rows 6 apart
    CHECK(max_abs_diff(sum<0>(p), sum<0>(contiguous(p))) == 0.0);
    CHECK(sum(p)() == sum(contiguous(p))());
    CHECK(max_abs_diff(gelu(p), gelu(contiguous(p))) == 0.0);
    CHECK(max_abs_diff(logsumexp(p), logsumexp(contiguous(p))) == 0.0);
}

} }  // namespace test_view
