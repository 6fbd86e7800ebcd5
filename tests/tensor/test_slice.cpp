// SPDX-License-Identifier: Apache-2.0
// Zero-copy views: prefix in its three spellings and its law, slice, select, transpose, reshape and their errors.
#include "testing.hpp"

#include <type_traits>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_slice {

using namespace starbucks;
using starbucks::testing::error_message;
using starbucks::testing::random;

namespace {
/// Same memory, same extents, same strides.
template <class A, class B>
bool same_view(const A& a, const B& b) {
    return static_cast<const void*>(a.data()) == static_cast<const void*>(b.data()) && a.dims() == b.dims() &&
           a.lay().strides == b.lay().strides;
}
} // namespace

TEST_CASE("slice: prefix<K> along the last axis is a zero-copy view with a static width") {
    auto x = random<float>(extents<dyn, 768>(4), 1);
    auto p = prefix<32>(x);
    static_assert(std::is_same_v<decltype(p), tensor_view<float, extents<dyn, 32>>>);
    CHECK(p.data() == x.data());
    CHECK(p.dims() == shape{4, 32});
    CHECK(p.stride(0) == 768);
    CHECK(p.stride(1) == 1);
    CHECK_FALSE(p.is_contiguous());
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 32; ++c) CHECK(p(r, c) == x(r, c));
    p(3, 31) = 9.0f; // a mutable view of the parent
    CHECK(x(3, 31) == 9.0f);
    const auto& cx = x;
    static_assert(std::is_same_v<decltype(prefix<32>(cx)), tensor_view<const float, extents<dyn, 32>>>);
    CHECK(prefix<768>(x).is_contiguous()); // the full width is the whole tensor
}

TEST_CASE("slice: prefix<K, 0> along axis 0 keeps the rows' layout") {
    auto x = random<float>(extents<dyn, 768>(4), 2);
    auto p = prefix<2, 0>(x);
    static_assert(std::is_same_v<decltype(p), tensor_view<float, extents<2, 768>>>);
    CHECK(p.data() == x.data());
    CHECK(p.is_contiguous());
    CHECK(p(1, 767) == x(1, 767));
}

TEST_CASE("slice: prefix(x, k) is the same view with the axis made dynamic") {
    auto x = random<float>(extents<dyn, 768>(4), 3);
    auto p = prefix(x, 32);
    static_assert(std::is_same_v<decltype(p), tensor_view<float, extents<dyn, dyn>>>);
    CHECK(same_view(p, prefix<32>(x)));
    auto rows = prefix(x, 3, 0);
    CHECK(same_view(rows, prefix<3, 0>(x)));
    CHECK(rows.dims() == shape{3, 768});
    CHECK(same_view(prefix(x, 768), x.view()));
}

TEST_CASE("slice: prefix(x, constant<K>{}) is prefix<K>(x)") {
    auto x = random<double>(extents<dyn, 768>(2), 4);
    auto p = prefix(x, constant<64>{});
    static_assert(std::is_same_v<decltype(p), decltype(prefix<64>(x))>);
    static_assert(std::is_same_v<decltype(p), tensor_view<double, extents<dyn, 64>>>);
    CHECK(same_view(p, prefix<64>(x)));
}

TEST_CASE("slice: prefix(x, k) outside 1..extent throws a shape_error naming the allowed range") {
    tensor<float, extents<dyn, 768>> x(4);
    CHECK_THROWS_AS(prefix(x, 769), shape_error);
    const std::string too_wide = error_message([&] { (void)prefix(x, 769); });
    CHECK(too_wide == "starbucks::prefix: width 769 is outside the allowed range 1..768 of axis 1 of (4, 768)");
    CHECK(too_wide.find("allowed range 1..768") != std::string::npos);
    CHECK(error_message([&] { (void)prefix(x, 0); }) ==
          "starbucks::prefix: width 0 is outside the allowed range 1..768 of axis 1 of (4, 768)");
    CHECK(error_message([&] { (void)prefix(x, 5, 0); }) ==
          "starbucks::prefix: width 5 is outside the allowed range 1..4 of axis 0 of (4, 768)");
    CHECK(error_message([&] { (void)prefix(x, 1, 2); }) == "starbucks::prefix: axis 2 is out of range for (4, 768)");
}

TEST_CASE("slice: prefix<K> beyond a dynamic extent throws a shape_error naming the allowed range") {
    tensor<float, extents<dyn, dyn>> x(2, 16);
    CHECK_THROWS_AS(prefix<32>(x), shape_error);
    const std::string msg = error_message([&] { (void)prefix<32>(x); });
    CHECK(msg == "starbucks::prefix: width 32 is outside the allowed range 1..16 of axis 1 of (2, 16)");
    CHECK(error_message([&] { (void)prefix<3, 0>(x); }) ==
          "starbucks::prefix: width 3 is outside the allowed range 1..2 of axis 0 of (2, 16)");
    CHECK_NOTHROW((void)prefix<16>(x));
}

TEST_CASE("slice: prefix<a>(prefix<b>(x)) is prefix<a>(x)") {
    auto x = random<float>(extents<dyn, 768>(3), 5);
    auto nested = prefix<64>(prefix<256>(x));
    auto direct = prefix<64>(x);
    static_assert(std::is_same_v<decltype(nested), decltype(direct)>);
    CHECK(same_view(nested, direct));
    // The same law for the run-time spelling, on each axis, and mixed.
    CHECK(same_view(prefix(prefix(x, 256), 64), prefix(x, 64)));
    CHECK(same_view(prefix(prefix(x, 2, 0), 1, 0), prefix(x, 1, 0)));
    CHECK(same_view(prefix<32>(prefix(x, 512)), prefix(x, 32)));
    CHECK(same_view(prefix<1, 0>(prefix<32>(x)), prefix<32>(prefix<1, 0>(x))));
    // The law holds for every pair a <= b on a small tensor.
    auto y = random<double>(extents<2, 9>{}, 6);
    for (std::size_t b = 1; b <= 9; ++b)
        for (std::size_t a = 1; a <= b; ++a) CHECK(same_view(prefix(prefix(y, b), a), prefix(y, a)));
    // An inner prefix bounds the outer one.
    CHECK_THROWS_AS(prefix(prefix(x, 64), 65), shape_error);
}

TEST_CASE("slice: slice(x, axis, begin, end) views the entries from begin up to end of one axis") {
    auto x = random<float>(extents<4, 6>{}, 7);
    auto rows = slice(x, 0, 1, 3);
    static_assert(std::is_same_v<decltype(rows), tensor_view<float, extents<dyn, dyn>>>);
    CHECK(rows.data() == x.data() + 6);
    CHECK(rows.dims() == shape{2, 6});
    CHECK(rows(1, 5) == x(2, 5));
    auto cols = slice(x, 1, 2, 5);
    CHECK(cols.data() == x.data() + 2);
    CHECK(cols.dims() == shape{4, 3});
    CHECK(cols.stride(0) == 6);
    CHECK(cols(3, 0) == x(3, 2));
    CHECK(same_view(slice(x, 1, 0, 3), prefix(x, 3)));
}

TEST_CASE("slice: slice rejects an empty or out-of-bounds range and a bad axis") {
    tensor<float, extents<4, 6>> x;
    CHECK_THROWS_AS(slice(x, 0, 3, 3), shape_error);
    CHECK(error_message([&] { (void)slice(x, 0, 3, 3); }) ==
          "starbucks::slice: range [3, 3) is empty or outside [0, 4) on axis 0 of (4, 6)");
    CHECK(error_message([&] { (void)slice(x, 1, 2, 7); }) ==
          "starbucks::slice: range [2, 7) is empty or outside [0, 6) on axis 1 of (4, 6)");
    CHECK(error_message([&] { (void)slice(x, 1, 4, 2); }) ==
          "starbucks::slice: range [4, 2) is empty or outside [0, 6) on axis 1 of (4, 6)");
    CHECK(error_message([&] { (void)slice(x, 2, 0, 1); }) == "starbucks::slice: axis 2 is out of range for (4, 6)");
}

TEST_CASE("slice: select<Axis>(x, i) drops the axis, as select<1>(h, 0) takes the CLS rows") {
    auto h = random<float>(extents<dyn, dyn, 8>(2, 5), 8); // (B, T, C)
    auto cls = select<1>(h, 0);
    static_assert(std::is_same_v<decltype(cls), tensor_view<float, extents<dyn, 8>>>);
    CHECK(cls.dims() == shape{2, 8});
    CHECK(cls.data() == h.data());
    CHECK(cls.stride(0) == 40);
    CHECK(cls.stride(1) == 1);
    CHECK(cls(1, 7) == h(1, 0, 7));
    auto last = select<1>(h, 4);
    CHECK(last.data() == h.data() + 32);
    auto channel = select<2>(h, 3); // (B, T): the channel axis dropped
    CHECK(channel.dims() == shape{2, 5});
    CHECK(channel(1, 2) == h(1, 2, 3));
    auto batch = select<0>(h, 1);
    CHECK(batch.is_contiguous());
    CHECK(batch(4, 0) == h(1, 4, 0));
}

TEST_CASE("slice: select rejects an index outside the axis") {
    tensor<float, extents<dyn, dyn, 3>> h(2, 5);
    CHECK_THROWS_AS(select<1>(h, 5), shape_error);
    CHECK(error_message([&] { (void)select<1>(h, 5); }) == "starbucks::select: index 5 is outside [0, 5) on axis 1 of (2, 5, 3)");
    CHECK(error_message([&] { (void)select<0>(h, 7); }) == "starbucks::select: index 7 is outside [0, 2) on axis 0 of (2, 5, 3)");
}

TEST_CASE("slice: transpose<A, B> swaps extents and strides, twice is the identity") {
    auto x = random<float>(extents<dyn, 12, 64>(3), 9);
    auto t = transpose<1, 2>(x);
    static_assert(std::is_same_v<decltype(t), tensor_view<float, extents<dyn, 64, 12>>>);
    CHECK(t.dims() == shape{3, 64, 12});
    CHECK(t.stride(1) == 1);
    CHECK(t.stride(2) == 64);
    CHECK(t(2, 5, 7) == x(2, 7, 5));
    CHECK(same_view(transpose<1, 2>(t), x.view()));
    CHECK(same_view(transpose<0, 0>(x), x.view()));
}

TEST_CASE("slice: reshape views contiguous elements under new extents of equal size") {
    auto x = random<float>(extents<dyn, 6>(4), 10);
    auto flat = reshape(x, extents<dyn>(24));
    static_assert(std::is_same_v<decltype(flat), tensor_view<float, extents<dyn>>>);
    CHECK(flat.data() == x.data());
    CHECK(flat(13) == x(2, 1));
    auto heads = reshape(x, extents<dyn, 2, 3>(4)); // (B, H, D)
    CHECK(heads(3, 1, 2) == x(3, 5));
    CHECK(heads.is_contiguous());
    // A row prefix is contiguous, so it reshapes.
    auto first_rows = reshape(prefix<2, 0>(x), extents<12>{});
    CHECK(first_rows(11) == x(1, 5));
}

TEST_CASE("slice: reshape rejects a non-contiguous view and a different size") {
    tensor<float, extents<2, 3>> x;
    CHECK_THROWS_AS(reshape(transpose<0, 1>(x), extents<6>{}), shape_error);
    CHECK(error_message([&] { (void)reshape(transpose<0, 1>(x), extents<6>{}); }) ==
          "starbucks::reshape: view (3, 2) strides (1, 3) is not contiguous");
    CHECK(error_message([&] { (void)reshape(x, extents<dyn>(5)); }) == "starbucks::reshape: size of (5) differs from size of (2, 3)");
    CHECK(error_message([&] { (void)reshape(prefix<2>(x), extents<4>{}); }) ==
          "starbucks::reshape: view (2, 2) strides (3, 1) is not contiguous");
}

} }  // namespace test_slice
