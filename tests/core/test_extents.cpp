// SPDX-License-Identifier: Apache-2.0
// extents<Es...>: storage of dynamic values only, construction and its checks, type arithmetic.
#include "testing.hpp"

#include <type_traits>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_extents {

using namespace starbucks;

TEST_CASE("extents: all-static extents are an empty class of size 1") {
    static_assert(std::is_empty_v<extents<768, 3072>>);
    static_assert(sizeof(extents<768, 3072>) == 1);
    static_assert(std::is_empty_v<extents<>>);
    CHECK(sizeof(extents<768, 3072>) == 1);
}

TEST_CASE("extents: only dynamic values are stored") {
    static_assert(sizeof(extents<dyn, 768>) == sizeof(std::size_t));
    static_assert(sizeof(extents<dyn, 12, dyn, 64>) == 2 * sizeof(std::size_t));
    static_assert(sizeof(dextents<3>) == 3 * sizeof(std::size_t));
    CHECK(sizeof(extents<dyn, 768>) == sizeof(std::size_t));
}

TEST_CASE("extents: rank, rank_dynamic, static_extent and static_size describe the type") {
    using E = extents<dyn, 12, dyn, 64>;
    static_assert(E::rank() == 4);
    static_assert(E::rank_dynamic() == 2);
    static_assert(E::static_extent(0) == dyn);
    static_assert(E::static_extent(1) == 12);
    static_assert(E::static_extent(3) == 64);
    static_assert(E::static_size() == dyn);
    static_assert(extents<2, 3, 4>::static_size() == 24);
    static_assert(extents<2, 3, 4>::rank_dynamic() == 0);
    static_assert(extents<>::rank() == 0);
    static_assert(extents<>::static_size() == 1); // a scalar has one element
    CHECK(E::rank() == 4);
    CHECK(E::rank_dynamic() == 2);
}

TEST_CASE("extents: values and sizes are usable in constant expressions") {
    constexpr extents<dyn, 768> e(32);
    static_assert(e.extent(0) == 32);
    static_assert(e.extent(1) == 768);
    static_assert(e.size() == 32 * 768);
    static_assert(e.to_shape() == shape{32, 768});
    constexpr extents<dyn, 768> all(32, 768);
    static_assert(all == e);
    constexpr extents<3, 4> s;
    static_assert(s.size() == 12);
    CHECK(e.size() == 24576);
}

TEST_CASE("extents: construction from the dynamic values only fills the dynamic axes in order") {
    const extents<dyn, 12, dyn, 64> e(2, 128);
    CHECK(e.extent(0) == 2);
    CHECK(e.extent(1) == 12);
    CHECK(e.extent(2) == 128);
    CHECK(e.extent(3) == 64);
    CHECK(e.size() == 2u * 12u * 128u * 64u);
}

TEST_CASE("extents: construction from every value checks the static axes and keeps the dynamic ones") {
    const extents<dyn, 12, dyn, 64> e(2, 12, 128, 64);
    CHECK(e.to_shape() == shape{2, 12, 128, 64});
    const extents<4, 5> s(4, 5);
    CHECK(s.size() == 20);
    const dextents<2> d(3, 7);
    CHECK(d.to_shape() == shape{3, 7});
}

TEST_CASE("extents: default-constructed dynamic axes are zero") {
    const extents<dyn, 768> e;
    CHECK(e.extent(0) == 0);
    CHECK(e.extent(1) == 768);
    CHECK(e.size() == 0);
}

TEST_CASE("extents: a run-time value that differs from a static axis throws a shape_error naming axis and values") {
    CHECK_THROWS_AS((extents<dyn, 768>(32, 769)), shape_error);
    CHECK(testing::error_message([] { (void)extents<dyn, 768>(32, 769); }) ==
          "starbucks::extents: value 769 for static axis 1 of extent 768");
    CHECK(testing::error_message([] { (void)extents<4, dyn>(5, 2); }) ==
          "starbucks::extents: value 5 for static axis 0 of extent 4");
    // With every axis static, a single value is a value for axis 0, not a dynamic value.
    CHECK(testing::error_message([] { (void)extents<8>(9); }) == "starbucks::extents: value 9 for static axis 0 of extent 8");
    CHECK_NOTHROW((extents<8>(8)));
}

TEST_CASE("extents: construction from a shape checks its rank and static axes") {
    const extents<dyn, 768> e(shape{32, 768});
    CHECK(e.extent(0) == 32);
    try {
        (void)extents<dyn, 768>(shape{32});
        FAIL("no exception");
    } catch (const shape_error& err) {
        CHECK(std::string(err.what()) == "starbucks::extents: rank 1 of (32) differs from rank 2");
        CHECK(err.kind() == error_kind::shape);
    }
    CHECK(testing::error_message([] { (void)extents<dyn, 768>(shape{32, 768, 1}); }) ==
          "starbucks::extents: rank 3 of (32, 768, 1) differs from rank 2");
    CHECK(testing::error_message([] { (void)extents<dyn, 768>(shape{32, 767}); }) ==
          "starbucks::extents: value 767 for static axis 1 of extent 768");
}

TEST_CASE("extents: equality compares values across static and dynamic spellings") {
    CHECK(extents<2, 3>{} == dextents<2>(2, 3));
    CHECK(extents<dyn, 3>(2) == extents<2, dyn>(3));
    CHECK_FALSE(extents<2, 3>{} == dextents<2>(3, 2));
    CHECK_FALSE(extents<2, 3>{} == extents<2, 3, 1>{}); // different rank
}

TEST_CASE("extents: dextents<R> has R dynamic axes") {
    static_assert(std::is_same_v<dextents<0>, extents<>>);
    static_assert(std::is_same_v<dextents<1>, extents<dyn>>);
    static_assert(std::is_same_v<dextents<3>, extents<dyn, dyn, dyn>>);
    static_assert(std::is_same_v<all_dynamic_t<extents<2, dyn, 4>>, extents<dyn, dyn, dyn>>);
    CHECK(dextents<3>::rank_dynamic() == 3);
}

TEST_CASE("extents: replace_extent_t and drop_extent_t rewrite one axis") {
    static_assert(std::is_same_v<replace_extent_t<extents<dyn, 768>, 1, 32>, extents<dyn, 32>>);
    static_assert(std::is_same_v<replace_extent_t<extents<dyn, 768>, 0, 4>, extents<4, 768>>);
    static_assert(std::is_same_v<replace_extent_t<extents<2, 768>, 1, dyn>, extents<2, dyn>>);
    static_assert(std::is_same_v<drop_extent_t<extents<2, 3, 4>, 0>, extents<3, 4>>);
    static_assert(std::is_same_v<drop_extent_t<extents<2, 3, 4>, 1>, extents<2, 4>>);
    static_assert(std::is_same_v<drop_extent_t<extents<2, 3, 4>, 2>, extents<2, 3>>);
    static_assert(std::is_same_v<drop_extent_t<extents<dyn>, 0>, extents<>>);
    CHECK(true);
}

TEST_CASE("extents: merge_extents_t keeps the static extent of each axis") {
    static_assert(std::is_same_v<merge_extents_t<extents<dyn, 768>, extents<32, dyn>>, extents<32, 768>>);
    static_assert(std::is_same_v<merge_extents_t<extents<dyn, dyn>, extents<dyn, 4>>, extents<dyn, 4>>);
    static_assert(std::is_same_v<merge_extents_t<extents<2, 3>, extents<2, 3>>, extents<2, 3>>);
    CHECK(true);
}

TEST_CASE("extents: broadcast_extents_t follows NumPy rules aligned from the right") {
    static_assert(std::is_same_v<broadcast_extents_t<extents<dyn, dyn, 768>, extents<768>>, extents<dyn, dyn, 768>>);
    static_assert(std::is_same_v<broadcast_extents_t<extents<768>, extents<dyn, dyn, 768>>, extents<dyn, dyn, 768>>);
    static_assert(std::is_same_v<broadcast_extents_t<extents<dyn, 1, 1, dyn>, extents<dyn, 12, dyn, dyn>>,
                                 extents<dyn, 12, dyn, dyn>>);
    static_assert(std::is_same_v<broadcast_extents_t<extents<4, 1>, extents<1, 5>>, extents<4, 5>>);
    static_assert(std::is_same_v<broadcast_extents_t<extents<dyn>, extents<1>>, extents<dyn>>);
    static_assert(std::is_same_v<broadcast_extents_t<extents<>, extents<2, 3>>, extents<2, 3>>);
    static_assert(extents_broadcastable<extents<2, 3>, extents<3>>());
    static_assert(extents_broadcastable<extents<2, dyn>, extents<4>>());
    static_assert(!extents_broadcastable<extents<2, 3>, extents<4>>());
    static_assert(!extents_broadcastable<extents<2, 3>, extents<3, 3>>());
    CHECK(true);
}

TEST_CASE("extents: all_extents_agree treats dyn as agreeing and needs equal rank") {
    static_assert(all_extents_agree<extents<dyn, 768>, extents<32, dyn>>());
    static_assert(!all_extents_agree<extents<dyn, 768>, extents<32, 767>>());
    static_assert(!all_extents_agree<extents<2>, extents<2, 1>>());
    static_assert(extents_agree(dyn, 3) && extents_agree(3, 3) && !extents_agree(3, 4));
    static_assert(merge_extent(dyn, 3) == 3 && merge_extent(3, dyn) == 3 && merge_extent(dyn, dyn) == dyn);
    CHECK(true);
}

TEST_CASE("extents: to_string prints the values in parentheses") {
    CHECK(to_string(extents<dyn, 768>(32)) == "(32, 768)");
    CHECK(to_string(extents<>{}) == "()");
    CHECK(to_string(extents<5>{}) == "(5)");
    CHECK(to_string(layout::contiguous(shape{2, 3})) == "(2, 3) strides (3, 1)");
}

TEST_CASE("extents: a shape rejects a rank above the maximum") {
    CHECK(testing::error_message([] { (void)shape{1, 2, 3, 4, 5, 6, 7, 8, 9}; }) ==
          "starbucks::shape: rank 9 exceeds the maximum rank 8");
    CHECK(shape{1, 2, 3, 4, 5, 6, 7, 8}.size() == 40320);
    CHECK(shape{}.size() == 1);
}

} }  // namespace test_extents
