// SPDX-License-Identifier: Apache-2.0
// Philox 4x32-10 known answers, rng_stream's counter layout, reproducible random fills and dropout masks.
#include "testing.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_rng {

using namespace starbucks;

namespace {
using philox_ctr = philox4x32::counter_type;
using philox_key = philox4x32::key_type;
} // namespace

TEST_CASE("rng: philox4x32-10 reproduces Random123's known-answer vectors") {
    // Random123 tests/kat_vectors, lines "philox4x32 10 <ctr x4> <key x2> <expected x4>".
    CHECK(philox4x32::generate(philox_ctr{0, 0, 0, 0}, philox_key{0, 0}) ==
          philox_ctr{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
    CHECK(philox4x32::generate(philox_ctr{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, philox_key{0xffffffffu, 0xffffffffu}) ==
          philox_ctr{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
    CHECK(philox4x32::generate(philox_ctr{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, philox_key{0xa4093822u, 0x299f31d0u}) ==
          philox_ctr{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
    // The generator is constexpr, so the same answers hold at compile time.
    static_assert(philox4x32::generate(philox_ctr{0, 0, 0, 0}, philox_key{0, 0})[0] == 0x6627e8d5u);
}

TEST_CASE("rng: rng_stream word i is lane i % 4 of philox(counter (i / 4, stream), key seed)") {
    const rng_stream r{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
    const philox_key key{0x89abcdefu, 0x01234567u};
    for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{3}, std::uint64_t{4}, std::uint64_t{1001},
                            (std::uint64_t{5} << 34) + 2}) { // the last one needs the high counter word
        const std::uint64_t block = i / 4;
        const philox_ctr ctr{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0x76543210u, 0xfedcba98u};
        CHECK(r.bits(i) == philox4x32::generate(ctr, key)[i % 4]);
    }
}

TEST_CASE("rng: uniform lies in 0 <= u < 1 and keeps the top 24 bits of the word") {
    const rng_stream r{42, 7};
    std::size_t outside = 0, not_top_bits = 0, outside_double = 0;
    for (std::uint64_t i = 0; i < 10000; ++i) {
        const float u = r.uniform(i);
        outside += !(u >= 0.0f && u < 1.0f);
        not_top_bits += u != float(r.bits(i) >> 8) / 16777216.0f;
        const double d = r.uniform_double(i);
        outside_double += !(d >= 0.0 && d < 1.0);
    }
    CHECK(outside == 0);
    CHECK(not_top_bits == 0);
    CHECK(outside_double == 0);
    // The largest word still maps below 1: (2^24 - 1) / 2^24.
    CHECK(float(0xffffffffu >> 8) / 16777216.0f < 1.0f);
}

TEST_CASE("rng: a value depends only on (seed, stream, i), not on the order of evaluation") {
    const rng_stream r{2024, 3};
    constexpr std::size_t n = 4096;
    std::vector<float> forward(n), backward(n), strided(n);
    for (std::size_t i = 0; i < n; ++i) forward[i] = r.uniform(i);
    for (std::size_t i = n; i-- > 0;) backward[i] = r.uniform(i);
    for (std::size_t start = 0; start < 7; ++start) // seven interleaved "threads"
        for (std::size_t i = start; i < n; i += 7) strided[i] = r.uniform(i);
    CHECK(forward == backward);
    CHECK(forward == strided);
    const rng_stream copy{2024, 3};
    CHECK(copy.normal(123) == r.normal(123));
}

TEST_CASE("rng: different streams and different seeds give different words") {
    const rng_stream a{5, 0}, b{5, 1}, c{6, 0};
    std::size_t same_ab = 0, same_ac = 0;
    for (std::uint64_t i = 0; i < 1000; ++i) {
        same_ab += a.bits(i) == b.bits(i);
        same_ac += a.bits(i) == c.bits(i);
    }
    // Independent 32-bit words collide with probability 2^-32 each; for these fixed seeds none do.
    CHECK(same_ab == 0);
    CHECK(same_ac == 0);
}

TEST_CASE("rng: random_uniform element i equals the value drawn for i alone") {
    const rng_stream r{11, 2};
    auto big = random_uniform<double>(extents<dyn>(5000), r, -2.0, 3.0);
    auto small = random_uniform<double>(extents<dyn>(17), r, -2.0, 3.0);
    for (std::size_t i = 0; i < 17; ++i) CHECK(small(i) == big(i)); // a shorter fill is a prefix
    for (std::size_t i : {std::size_t{0}, std::size_t{1}, std::size_t{999}, std::size_t{4999}})
        CHECK(big(i) == -2.0 + 5.0 * r.uniform_double(i));
    // The shape does not matter either: a (dyn, 50) fill is the flat fill in row-major order.
    auto mat = random_uniform<double>(extents<dyn, 50>(100), r, -2.0, 3.0);
    for (std::size_t i = 0; i < 5000; i += 37) CHECK(mat(i / 50, i % 50) == big(i));
    bool in_range = true;
    for (std::size_t i = 0; i < big.size(); ++i) in_range = in_range && big(i) >= -2.0 && big(i) < 3.0;
    CHECK(in_range);
}

TEST_CASE("rng: random_normal element i equals the value drawn for i alone") {
    const rng_stream r{99, 4};
    auto big = random_normal<float>(extents<dyn>(3000), r, 1.0f, 0.5f);
    auto small = random_normal<float>(extents<dyn>(10), r, 1.0f, 0.5f);
    for (std::size_t i = 0; i < 10; ++i) CHECK(small(i) == big(i));
    for (std::size_t i : {std::size_t{0}, std::size_t{2999}})
        CHECK(big(i) == float(1.0f + 0.5f * float(r.normal(i))));
    auto other_stream = random_normal<float>(extents<dyn>(10), rng_stream{99, 5}, 1.0f, 0.5f);
    CHECK_FALSE(other_stream(0) == big(0));
}

TEST_CASE("rng: 100k normals have sample mean 0 and standard deviation 1 within six standard errors") {
    constexpr std::size_t n = 100000;
    auto x = random_normal<double>(extents<dyn>(n), rng_stream{1234, 0});
    double s = 0, s2 = 0, s4 = 0;
    std::size_t within_one = 0;
    for (std::size_t i = 0; i < n; ++i) {
        s += x(i);
        within_one += std::abs(x(i)) < 1.0;
    }
    const double mean = s / n;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = x(i) - mean;
        s2 += d * d;
        s4 += d * d * d * d;
    }
    const double var = s2 / (n - 1);
    // Standard error of the mean: 1 / sqrt(n) = 0.00316; six of them: 0.019.
    CHECK(std::abs(mean) < 0.019);
    // Standard error of the sample standard deviation of a normal: 1 / sqrt(2n) = 0.00224; six: 0.0134.
    CHECK(std::abs(std::sqrt(var) - 1.0) < 0.0134);
    // Shape, not just scale: P(|z| < 1) = 0.682689, standard error sqrt(p(1-p)/n) = 0.00147; six: 0.0088.
    CHECK(std::abs(double(within_one) / n - 0.682689) < 0.0088);
    // Kurtosis of a normal is 3; its standard error is sqrt(24/n) = 0.0155; six: 0.093.
    CHECK(std::abs(s4 / n / (var * var) - 3.0) < 0.093);
}

TEST_CASE("rng: 100k uniforms have mean 1/2 and variance 1/12 within six standard errors") {
    constexpr std::size_t n = 100000;
    auto x = random_uniform<double>(extents<dyn>(n), rng_stream{77, 0});
    double s = 0, s2 = 0;
    for (std::size_t i = 0; i < n; ++i) s += x(i);
    const double mean = s / n;
    for (std::size_t i = 0; i < n; ++i) s2 += (x(i) - mean) * (x(i) - mean);
    // Standard error of the mean: sqrt(1/12 / n) = 0.000913; six: 0.0055.
    CHECK(std::abs(mean - 0.5) < 0.0055);
    // Variance of U(0,1) is 1/12; the sample variance's standard error is sqrt((1/80 - 1/144) / n) = 0.000236; six: 0.0015.
    CHECK(std::abs(s2 / (n - 1) - 1.0 / 12.0) < 0.0015);
}

TEST_CASE("rng: a dropout mask depends on the seed and the element index only, not on the tensor's shape") {
    auto x2 = random_uniform<double>(extents<dyn, 16>(64), rng_stream{1, 0}, 0.5, 1.5);
    auto flat = reshape(x2, extents<dyn>(1024));
    const rng_stream r{31337, 9};
    auto a = dropout(x2, 0.3, r);
    auto b = dropout(flat, 0.3, r);
    static_assert(std::is_same_v<decltype(b.mask), tensor<double, extents<dyn>>>);
    std::size_t mismatches = 0, dropped = 0;
    for (std::size_t i = 0; i < 1024; ++i) {
        mismatches += a.mask(i / 16, i % 16) != b.mask(i);
        mismatches += a.y(i / 16, i % 16) != b.y(i);
        const double expected = double(r.uniform(i)) >= 0.3 ? 1.0 / (1.0 - 0.3) : 0.0;
        mismatches += b.mask(i) != expected;
        dropped += b.mask(i) == 0.0;
    }
    CHECK(mismatches == 0);
    CHECK(dropped > 0);
    CHECK(dropped < 1024);
    // The same seed again gives the same mask; another stream a different one.
    auto again = dropout(x2, 0.3, r);
    auto other = dropout(x2, 0.3, rng_stream{31337, 10});
    std::size_t same = 0, differ = 0;
    for (std::size_t i = 0; i < 64; ++i)
        for (std::size_t j = 0; j < 16; ++j) {
            same += again.mask(i, j) == a.mask(i, j);
            differ += other.mask(i, j) != a.mask(i, j);
        }
    CHECK(same == 1024);
    CHECK(differ > 0);
}

TEST_CASE("rng: dropout of a strided view uses the mask of its row-major contiguous copy") {
    auto x = random_uniform<double>(extents<8, 6>{}, rng_stream{3, 0}, 0.5, 1.5);
    auto t = transpose<0, 1>(x); // (6, 8), non-contiguous
    const rng_stream r{8, 8};
    auto a = dropout(t, 0.5, r);
    auto b = dropout(contiguous(t), 0.5, r);
    CHECK(testing::max_abs_diff(a.mask, b.mask) == 0.0);
    CHECK(testing::max_abs_diff(a.y, b.y) == 0.0);
}

TEST_CASE("rng: a stream advanced by w words draws word w + i as its i-th") {
    const rng_stream r{0x1234, 77};
    for (const std::uint64_t w : {0ull, 1ull, 3ull, 4ull, 1001ull, (1ull << 33) + 5}) {
        const rng_stream a = r.advanced(w);
        for (std::uint64_t i = 0; i < 9; ++i) CHECK(a.bits(i) == r.bits(w + i));
        CHECK(a.advanced(2).bits(0) == r.bits(w + 2));
        CHECK(a.uniform(3) == r.uniform(w + 3));
    }
}

} }  // namespace test_rng
