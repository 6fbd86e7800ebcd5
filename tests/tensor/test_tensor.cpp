// SPDX-License-Identifier: Apache-2.0
// tensor<T, Extents>: alignment, zero fill, copies and moves, element access, empty tensors.
#include "testing.hpp"

#include <cstdint>
#include <type_traits>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_tensor {

using namespace starbucks;

namespace {
template <class T>
bool aligned64(const T* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 64 == 0;
}
} // namespace

TEST_CASE("tensor: data is 64-byte aligned for every size and element type") {
    for (std::size_t n : {1u, 3u, 7u, 17u, 63u, 64u, 65u, 1000u, 4099u}) {
        CAPTURE(n);
        CHECK(aligned64(tensor<float, extents<dyn>>(n).data()));
        CHECK(aligned64(tensor<double, extents<dyn>>(n).data()));
        CHECK(aligned64(tensor<bf16, extents<dyn>>(n).data()));
        CHECK(aligned64(tensor<std::uint8_t, extents<dyn>>(n).data()));
        CHECK(aligned64(tensor<std::int64_t, extents<dyn, 3>>(n).data()));
    }
    // Many live allocations at once, so consecutive blocks are checked too.
    std::vector<tensor<std::uint8_t, extents<dyn>>> many;
    for (std::size_t n = 1; n < 100; ++n) many.emplace_back(n);
    for (const auto& t : many) CHECK(aligned64(t.data()));
    CHECK(aligned64(tensor<float, extents<5, 3>>{}.data()));
}

TEST_CASE("tensor: new tensors are zero-filled unless uninitialized is asked for") {
    tensor<float, extents<dyn, 5>> a(7);
    bool all_zero = true;
    for (std::size_t i = 0; i < a.size(); ++i) all_zero = all_zero && a.data()[i] == 0.0f;
    CHECK(all_zero);
    tensor<double, extents<3, 4>> b;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) CHECK(b(r, c) == 0.0);
    tensor<bf16, extents<4>> h;
    CHECK(h(3).bits == 0);
    tensor<std::int64_t, extents<dyn>> ids(extents<dyn>(6));
    CHECK(ids(5) == 0);
    tensor<float, extents<dyn>> raw(extents<dyn>(9), uninitialized);
    CHECK(raw.size() == 9); // contents unspecified; only the allocation is promised
    CHECK(raw.data() != nullptr);
}

TEST_CASE("tensor: static and dynamic extents are reported alike") {
    tensor<float, extents<dyn, 768>> x(4);
    static_assert(std::is_same_v<decltype(x)::extents_type, extents<dyn, 768>>);
    static_assert(decltype(x)::rank() == 2);
    CHECK(x.extent(0) == 4);
    CHECK(x.extent(1) == 768);
    CHECK(x.size() == 4 * 768);
    CHECK(x.dims() == shape{4, 768});
    CHECK(x.extents() == extents<4, 768>{});
    tensor<float, extents<dyn, 768>> all_values(4, 768); // every value, checked against the static one
    CHECK(all_values.size() == x.size());
    CHECK_THROWS_AS((tensor<float, extents<dyn, 768>>(4, 767)), shape_error);
    tensor<float, extents<>> scalar;
    CHECK(scalar.size() == 1);
    scalar() = 2.5f;
    CHECK(scalar() == 2.5f);
}

TEST_CASE("tensor: element access is row-major over the extents") {
    tensor<std::int32_t, extents<2, dyn, 4>> x(3);
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 4; ++k) x(i, j, k) = 100 * i + 10 * j + k;
    for (std::size_t n = 0; n < x.size(); ++n) {
        const auto i = n / 12, j = n / 4 % 3, k = n % 4;
        CHECK(x.data()[n] == std::int32_t(100 * i + 10 * j + k));
    }
    const auto& cx = x;
    static_assert(std::is_same_v<decltype(cx(0, 0, 0)), const std::int32_t&>);
    CHECK(cx(1, 2, 3) == 123);
}

TEST_CASE("tensor: copies are deep") {
    auto a = testing::random<float>(extents<dyn, 8>(5), 1);
    tensor<float, extents<dyn, 8>> b = a;
    CHECK(b.data() != a.data());
    CHECK(b.extents() == a.extents());
    CHECK(testing::max_abs_diff(a, b) == 0.0);
    a(0, 0) = 42.0f;
    CHECK(b(0, 0) != 42.0f);
    tensor<float, extents<dyn, 8>> c(1);
    c = a; // copy assignment reallocates to the new extents
    CHECK(c.extent(0) == 5);
    CHECK(c.data() != a.data());
    CHECK(c(0, 0) == 42.0f);
    auto& self = c;
    c = self; // self-assignment keeps the contents
    CHECK(c(0, 0) == 42.0f);
}

TEST_CASE("tensor: a move steals the allocation and leaves the source empty") {
    auto a = testing::random<float>(extents<dyn, 8>(5), 2);
    const float* p = a.data();
    tensor<float, extents<dyn, 8>> b = std::move(a);
    CHECK(b.data() == p);
    CHECK(b.extent(0) == 5);
    CHECK(a.data() == nullptr); // NOLINT(bugprone-use-after-move): the moved-from state is the point
    CHECK(a.size() == 0);       // NOLINT(bugprone-use-after-move)
    tensor<float, extents<dyn, 8>> c(3);
    c = std::move(b);
    CHECK(c.data() == p);
    CHECK(c.extent(0) == 5);
    CHECK(b.data() == nullptr); // NOLINT(bugprone-use-after-move)
    CHECK(b.size() == 0);       // NOLINT(bugprone-use-after-move)
    // A moved-from tensor is usable again: sum of nothing is 0, and it can be assigned to.
    CHECK(sum(b)() == 0.0f);
    b = c;
    CHECK(b.extent(0) == 5);
    // With all-static extents the allocation moves too; the source keeps its (static) extents.
    tensor<double, extents<2, 2>> s;
    const double* ps = s.data();
    tensor<double, extents<2, 2>> t = std::move(s);
    CHECK(t.data() == ps);
    CHECK(s.data() == nullptr); // NOLINT(bugprone-use-after-move)
}

TEST_CASE("tensor: copy_from copies any view of the same shape and rejects another shape") {
    tensor<float, extents<dyn, 3>> a(2), b(2), wrong(3);
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 3; ++c) b(r, c) = float(r * 3 + c);
    a.copy_from(b);
    CHECK(testing::max_abs_diff(a, b) == 0.0);
    CHECK_THROWS_AS(a.copy_from(wrong), shape_error);
    CHECK(testing::error_message([&] { a.copy_from(wrong); }) ==
          "starbucks::tensor::copy_from: source (3, 3) vs destination (2, 3)");
    // A strided source: the transpose of a (3, 2) tensor.
    tensor<float, extents<3, 2>> src;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 2; ++c) src(r, c) = float(10 * r + c);
    tensor<float, extents<2, 3>> dst;
    dst.copy_from(transpose<0, 1>(src));
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 3; ++c) CHECK(dst(r, c) == src(c, r));
}

TEST_CASE("tensor: full, zeros and fill set every element") {
    auto f = full<double>(extents<dyn, 3>(4), 1.5);
    CHECK(sum(f)() == 18.0);
    fill(f, -2.0);
    CHECK(f(3, 2) == -2.0);
    auto z = zeros<float>(extents<2, 2>{});
    CHECK(sum(z)() == 0.0f);
}

TEST_CASE("tensor: a zero-sized axis gives a valid empty tensor") {
    tensor<float, extents<dyn, 4>> z(0);
    CHECK(z.size() == 0);
    CHECK(z.extent(0) == 0);
    CHECK(z.extent(1) == 4);
    CHECK(z.dims() == shape{0, 4});
    auto copy = z;
    CHECK(copy.size() == 0);
    auto c = contiguous(transpose<0, 1>(z));
    static_assert(std::is_same_v<decltype(c), tensor<float, extents<4, dyn>>>);
    CHECK(c.dims() == shape{4, 0});
    tensor<float, extents<dyn, 4>> other(0);
    other.copy_from(z);
    auto cat = concat<0>(z, testing::random<float>(extents<dyn, 4>(2), 3));
    CHECK(cat.dims() == shape{2, 4});
}

TEST_CASE("tensor: ops on an empty tensor give empty results, sum 0, and mean a shape_error") {
    tensor<float, extents<dyn, 4>> z(0);
    CHECK(sum(z)() == 0.0f);
    auto s0 = sum<0>(z); // (4) of zeros
    CHECK(s0.dims() == shape{4});
    CHECK(s0(3) == 0.0f);
    auto s1 = sum<1>(z);
    CHECK(s1.dims() == shape{0});
    CHECK_THROWS_AS(mean(z), shape_error);
    CHECK(testing::error_message([&] { (void)mean(z); }) == "starbucks::mean: empty tensor (0, 4)");
    CHECK(testing::error_message([&] { (void)mean<0>(z); }) == "starbucks::mean: axis 0 of (0, 4) is empty");
    CHECK(mean<1>(z).dims() == shape{0});
    auto bias = full<float>(extents<4>{}, 1.0f);
    CHECK(add(z, bias).dims() == shape{0, 4});
    CHECK(gelu(z).size() == 0);
    CHECK(softmax(z).dims() == shape{0, 4});
    CHECK(layer_norm(z, bias, bias, 1e-5f).dims() == shape{0, 4});
    auto w = testing::random<float>(extents<4, 3>{}, 4);
    CHECK(matmul(z, w).dims() == shape{0, 3});
    CHECK(dropout(z, 0.5f, rng_stream{}).y.size() == 0);
    CHECK_THROWS_AS(kl_div(z, z), shape_error);
    // An empty inner extent is an empty sum: a (2, 0) x (0, 3) product is all zeros.
    tensor<float, extents<2, dyn>> a(0);
    tensor<float, extents<dyn, 3>> b(0);
    auto p = matmul(a, b);
    CHECK(p.dims() == shape{2, 3});
    CHECK(sum(square(p))() == 0.0f);
}

} }  // namespace test_tensor
