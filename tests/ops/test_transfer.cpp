// SPDX-License-Identifier: Apache-2.0
// ops/transfer.hpp and assign(): to<B>(x) copies between backends and moves a tensor it is
// given, item() reads one value, assign() copies between views of one shape.
#include "testing.hpp"

#include <cstring>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_transfer {

using namespace starbucks;

TEST_CASE_TEMPLATE("to: copies a strided view onto another backend and moves a tensor already there", B, STARBUCKS_TEST_BACKENDS) {
    auto x = testing::random<float>(extents<dyn, dyn>(5, 7), 3);
    const auto t = transpose<0, 1>(x); // strided: to() makes it contiguous
    const auto y = to<B>(t);
    REQUIRE(y.extent(0) == 7);
    const auto back = host_copy(y);
    for (std::size_t i = 0; i < 7; ++i)
        for (std::size_t j = 0; j < 5; ++j) CHECK(back(i, j) == x(j, i));
    auto z = to<B>(y);            // same backend, an lvalue: a copy
    CHECK(z.data() != y.data());
    const float* before = z.data();
    auto moved = to<B>(std::move(z)); // same backend, given up: moved, not copied
    CHECK(moved.data() == before);
}

TEST_CASE("item, host_copy and assign: one value, a host-readable copy, a view-to-view copy with its shape checked") {
    auto x = full<float, backend::reference>(dextents<2>(2, 3), 1.5f);
    CHECK(item(sum(x)) == 9.0f);
    CHECK_THROWS_WITH_AS(item(x), doctest::Contains("starbucks::item: a tensor of"), shape_error);
    const auto h = host_copy(x);
    CHECK(h(1, 2) == 1.5f);
    auto dst = zeros<float, backend::reference>(dextents<2>(4, 3));
    assign(slice(dst, 0, 1, 3), as_const_view(x));
    CHECK(dst(0, 0) == 0.0f);
    CHECK(dst(1, 0) == 1.5f);
    CHECK(dst(2, 2) == 1.5f);
    CHECK(dst(3, 2) == 0.0f);
    CHECK_THROWS_WITH_AS(assign(slice(dst, 0, 0, 3), as_const_view(x)), doctest::Contains("starbucks::assign: shapes differ"), shape_error);
}

}} // namespace ::test_transfer
