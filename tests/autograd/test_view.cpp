// SPDX-License-Identifier: Apache-2.0
// Differentiable views: the prefix composition law on values and gradients, static and dynamic.
#include "testing.hpp"

#include "autograd_testing.hpp"

#include <type_traits>
#include <utility>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_view {

using namespace starbucks;
using starbucks::testing::bitwise_equal;
using starbucks::testing::flat;
using starbucks::testing::random;
using starbucks::testing::weighted_sum;
namespace ag = starbucks::autograd;

namespace {

constexpr std::size_t rows = 3, cols = 7;
using x_extents = extents<rows, cols>;

/// Same extents, same strides, same elements at the same addresses.
template <class V1, class V2>
void check_same_view(const V1& a, const V2& b) {
    REQUIRE(a.dims() == b.dims());
    for (std::size_t i = 0; i < V1::rank(); ++i) CHECK(a.stride(i) == b.stride(i));
    CHECK(a.data() == b.data());
    CHECK(bitwise_equal(flat(a), flat(b)));
}

/// prefix<A>(prefix<B>(x)) against prefix<A>(x) on the last axis and on axis 0, for a var.
template <std::size_t A, std::size_t B>
void check_static_law(const ag::var<double, x_extents>& x) {
    if constexpr (A <= B) {
        auto twice = ag::prefix<A>(ag::prefix<B>(x));
        auto once = ag::prefix<A>(x);
        static_assert(std::is_same_v<typename decltype(twice)::extents_type, extents<rows, A>>);
        static_assert(std::is_same_v<typename decltype(once)::extents_type, extents<rows, A>>);
        check_same_view(twice.value(), once.value());
        if constexpr (B <= rows) {
            auto twice0 = ag::prefix<A, 0>(ag::prefix<B, 0>(x));
            static_assert(std::is_same_v<typename decltype(twice0)::extents_type, extents<A, cols>>);
            check_same_view(twice0.value(), ag::prefix<A, 0>(x).value());
        }
    }
}

template <std::size_t... I>
void check_all_static_laws(const ag::var<double, x_extents>& x, std::index_sequence<I...>) {
    // Every (a, b) in 1..cols x 1..cols; pairs with a > b are skipped inside.
    (check_static_law<I / cols + 1, I % cols + 1>(x), ...);
}

} // namespace

TEST_CASE("prefix: prefix<a>(prefix<b>(x)) is prefix<a>(x) for every static a <= b, on both axes") {
    auto x = ag::constant_input(random<double>(x_extents{}, 800));
    check_all_static_laws(x, std::make_index_sequence<cols * cols>{});
}

TEST_CASE("prefix: prefix(prefix(x, b), a) is prefix(x, a) for every dynamic a <= b, on both axes") {
    auto x = ag::constant_input(random<double>(x_extents{}, 801));
    for (std::size_t b = 1; b <= cols; ++b)
        for (std::size_t a = 1; a <= b; ++a) {
            CAPTURE(a);
            CAPTURE(b);
            auto twice = ag::prefix(ag::prefix(x, b), a);
            static_assert(std::is_same_v<typename decltype(twice)::extents_type, extents<dyn, dyn>>);
            check_same_view(twice.value(), ag::prefix(x, a).value());
            // Mixed: a static prefix of a dynamic one and the other way round.
            if (a == 2) check_same_view(ag::prefix<2>(ag::prefix(x, b)).value(), ag::prefix<2>(x).value());
            if (b == cols) check_same_view(ag::prefix(ag::prefix<cols>(x), a).value(), ag::prefix(x, a).value());
            if (b <= rows) check_same_view(ag::prefix(ag::prefix(x, b, 0), a, 0).value(), ag::prefix(x, a, 0).value());
        }
}

TEST_CASE("prefix: the law holds for plain tensor views as well") {
    auto x = random<double>(extents<2, 3, 7>{}, 802);
    check_same_view(starbucks::prefix<2>(starbucks::prefix<5>(x)), starbucks::prefix<2>(x));
    check_same_view(starbucks::prefix<1, 1>(starbucks::prefix<3, 1>(x)), starbucks::prefix<1, 1>(x));
    for (std::size_t b = 1; b <= 7; ++b)
        for (std::size_t a = 1; a <= b; ++a) check_same_view(starbucks::prefix(starbucks::prefix(x, b), a), starbucks::prefix(x, a));
}

TEST_CASE("prefix: the gradient through prefix<a>(prefix<b>(x)) is bitwise the gradient through prefix<a>(x)") {
    const auto x0 = random<double>(x_extents{}, 803);
    for (std::size_t b = 1; b <= cols; ++b)
        for (std::size_t a = 1; a <= b; ++a) {
            CAPTURE(a);
            CAPTURE(b);
            auto x_twice = ag::parameter(x0);
            auto x_once = ag::parameter(x0);
            ag::tape t;
            auto on = t.activate();
            t.backward({weighted_sum(ag::tanh(ag::prefix(ag::prefix(x_twice, b), a)), 804)});
            t.clear();
            t.backward({weighted_sum(ag::tanh(ag::prefix(x_once, a)), 804)});
            CHECK(bitwise_equal(flat(x_twice.grad()), flat(x_once.grad())));
        }
}

TEST_CASE("prefix: a width of 0 or beyond the extent is a shape_error naming the allowed range") {
    auto x = ag::parameter(random<double>(x_extents{}, 805));
    CHECK_THROWS_AS(ag::prefix(x, 0), shape_error);
    CHECK_THROWS_AS(ag::prefix(x, cols + 1), shape_error);
    CHECK_THROWS_AS(ag::prefix(x, rows + 1, 0), shape_error);
    const std::string msg = starbucks::testing::error_message([&] { ag::prefix(ag::prefix(x, 4), 5); });
    CHECK(msg.rfind("starbucks::prefix", 0) == 0);
    CHECK(msg.find("1..4") != std::string::npos);
}

TEST_CASE("autograd views: values alias the parent's storage; writes through the parent show in the view") {
    auto x = ag::parameter(random<double>(x_extents{}, 806));
    auto v = ag::slice(x, 1, 2, 5);
    auto s = ag::select<0>(x, 1);
    auto r = ag::reshape(x, extents<7, 3>{});
    x.mutable_value()(1, 3) = 42.0;
    CHECK(v.value()(1, 1) == 42.0);
    CHECK(s.value()(3) == 42.0);
    CHECK(r.value()(3, 1) == 42.0); // element 10 of the flat storage
}

} }  // namespace test_view
