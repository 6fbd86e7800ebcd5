// SPDX-License-Identifier: Apache-2.0
// bf16: round-to-nearest-even from float on edge cases, exact round trips, dtype names and convert().
#include "testing.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_dtype {

using namespace starbucks;

namespace {

/// The bf16 bits of the float with IEEE-754 bit pattern `u`.
std::uint16_t bf16_bits(std::uint32_t u) { return bf16(std::bit_cast<float>(u)).bits; }

/// The float whose top 16 bits are `b`.
float widen(std::uint16_t b) { return float(bf16::from_bits(b)); }

bool is_nan_bits(std::uint16_t b) { return (b & 0x7fffu) > 0x7f80u; }

/// Independent oracle: round float `u` to bf16 by comparing distances in double.
/// Candidates are the truncation t (toward zero) and its successor in magnitude t + 1; when
/// t + 1 is the infinity pattern, its distance is measured to 2^128, where the next binade
/// would start, which is how IEEE-754 defines overflow under round-to-nearest.
std::uint16_t oracle(std::uint32_t u) {
    const auto t = static_cast<std::uint16_t>(u >> 16);
    if ((t & 0x7fffu) == 0x7f80u) return t; // an infinity is its own nearest value
    const auto up = static_cast<std::uint16_t>(t + 1);
    const double x = std::abs(double(std::bit_cast<float>(u)));
    const double lo = std::abs(double(widen(t)));
    const double hi = (up & 0x7fffu) == 0x7f80u ? std::ldexp(1.0, 128) : std::abs(double(widen(up)));
    // Exact in double: x and lo share a binade (hi may be 2^128), so the differences need at most 24 bits.
    const double dlo = x - lo, dhi = hi - x;
    if (dlo < dhi) return t;
    if (dhi < dlo) return up;
    return (t & 1u) ? up : t; // tie: the even neighbour
}

} // namespace

TEST_CASE("bf16: exactly representable values convert without rounding") {
    // 1.0f = 0 01111111 000...0 = 0x3f800000; the top half 0x3f80 is exact.
    CHECK(bf16_bits(0x3f800000u) == 0x3f80);
    CHECK(bf16(1.0f).bits == 0x3f80);
    // -2.0f = 1 10000000 000...0 = 0xc0000000.
    CHECK(bf16(-2.0f).bits == 0xc000);
    // 0.0f and -0.0f: the sign bit alone survives, so -0 stays -0.
    CHECK(bf16(0.0f).bits == 0x0000);
    CHECK(bf16(-0.0f).bits == 0x8000);
    CHECK(std::signbit(float(bf16(-0.0f))));
    static_assert(bf16(1.0f).bits == 0x3f80); // conversions are constexpr
}

TEST_CASE("bf16: exact ties round to the even neighbour") {
    // 0x3f808000: kept half 0x3f80 (even), dropped half 0x8000 is exactly one half ulp -> 0x3f80.
    CHECK(bf16_bits(0x3f808000u) == 0x3f80);
    // 0x3f818000: kept half 0x3f81 (odd), dropped half exactly one half -> up to even 0x3f82.
    CHECK(bf16_bits(0x3f818000u) == 0x3f82);
    // Negative ties behave the same in magnitude: 0xbf808000 -> 0xbf80, 0xbf818000 -> 0xbf82.
    CHECK(bf16_bits(0xbf808000u) == 0xbf80);
    CHECK(bf16_bits(0xbf818000u) == 0xbf82);
    // A tie that carries into the exponent: 0x3fffffff is not a tie, but 0x3fff8000 is
    // (0x3fff odd) -> 0x4000 = 2.0, the next binade.
    CHECK(bf16_bits(0x3fff8000u) == 0x4000);
}

TEST_CASE("bf16: just above a tie rounds up, just below rounds down") {
    // 0x3f808001: dropped half 0x8001 > 0x8000 -> 0x3f81.
    CHECK(bf16_bits(0x3f808001u) == 0x3f81);
    // 0x3f807fff: dropped half 0x7fff < 0x8000 -> truncates to 0x3f80.
    CHECK(bf16_bits(0x3f807fffu) == 0x3f80);
    // Odd kept half, just below the tie: 0x3f817fff -> 0x3f81 (no rounding to even off a tie).
    CHECK(bf16_bits(0x3f817fffu) == 0x3f81);
    // 0x3f80ffff: dropped half 0xffff -> 0x3f81.
    CHECK(bf16_bits(0x3f80ffffu) == 0x3f81);
}

TEST_CASE("bf16: NaN stays NaN with its sign kept and the quiet bit set") {
    // Quiet NaN 0x7fc00000: top half 0x7fc0 already has the quiet bit (bit 6 of the half, 0x0040).
    CHECK(bf16_bits(0x7fc00000u) == 0x7fc0);
    CHECK(bf16_bits(0xffc00000u) == 0xffc0);
    // Signalling NaN 0x7f800001: its only payload bit is in the dropped half, so truncation
    // would give 0x7f80 = +inf; the quiet bit makes it 0x7fc0.
    CHECK(bf16_bits(0x7f800001u) == 0x7fc0);
    CHECK(bf16_bits(0xff800001u) == 0xffc0);
    // Signalling NaN 0x7fa00000 keeps its payload bit 0x0020 and gains the quiet bit: 0x7fe0.
    CHECK(bf16_bits(0x7fa00000u) == 0x7fe0);
    CHECK(bf16_bits(0xffa00000u) == 0xffe0);
    // A quiet NaN whose low half is 0xffff must not round up into the sign bit: 0x7fffffff -> 0x7fff.
    CHECK(bf16_bits(0x7fffffffu) == 0x7fff);
    CHECK(bf16_bits(0xffffffffu) == 0xffff);
    for (std::uint32_t u : {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800001u, 0x7fa00000u, 0x7fffffffu}) {
        const std::uint16_t b = bf16_bits(u);
        CHECK(std::isnan(widen(b)));
        CHECK(std::signbit(widen(b)) == ((u >> 31) != 0));
        CHECK((b & 0x0040u) != 0);
    }
    CHECK(std::isnan(float(bf16(std::numeric_limits<float>::quiet_NaN()))));
    static_assert(bf16(std::bit_cast<float>(0x7f800001u)).bits == 0x7fc0); // also at compile time
}

TEST_CASE("bf16: infinities are preserved and the largest finite float overflows to infinity") {
    // +inf 0x7f800000 -> 0x7f80; -inf 0xff800000 -> 0xff80 (the dropped half is zero).
    CHECK(bf16_bits(0x7f800000u) == 0x7f80);
    CHECK(bf16_bits(0xff800000u) == 0xff80);
    // FLT_MAX 0x7f7fffff: kept 0x7f7f (odd), dropped 0xffff above the tie -> 0x7f80 = +inf.
    CHECK(bf16_bits(0x7f7fffffu) == 0x7f80);
    CHECK(bf16(std::numeric_limits<float>::max()).bits == 0x7f80);
    CHECK(bf16_bits(0xff7fffffu) == 0xff80);
    // bf16's own maximum 0x7f7f0000 = (2 - 2^-7) * 2^127 is exact.
    CHECK(bf16_bits(0x7f7f0000u) == 0x7f7f);
    CHECK(widen(0x7f7f) == std::bit_cast<float>(0x7f7f0000u));
    // Halfway between bf16 max and 2^128: 0x7f7f8000 is a tie with an odd kept half -> +inf.
    CHECK(bf16_bits(0x7f7f8000u) == 0x7f80);
    // Just below that tie stays finite.
    CHECK(bf16_bits(0x7f7f7fffu) == 0x7f7f);
}

TEST_CASE("bf16: subnormals round to nearest even like normals") {
    // 0x00000001 (2^-149): dropped half 0x0001 below the tie -> +0.
    CHECK(bf16_bits(0x00000001u) == 0x0000);
    // 0x00008000: exactly half of bf16's smallest subnormal 0x0001; 0x0000 is even -> +0.
    CHECK(bf16_bits(0x00008000u) == 0x0000);
    // 0x00018000: kept 0x0001 (odd), exact tie -> 0x0002.
    CHECK(bf16_bits(0x00018000u) == 0x0002);
    // 0x00008001: just above half the smallest subnormal -> 0x0001.
    CHECK(bf16_bits(0x00008001u) == 0x0001);
    // 0x007fffff (largest float subnormal): kept 0x007f, dropped 0xffff -> 0x0080 = 2^-126,
    // the smallest normal: rounding carries out of the subnormal range.
    CHECK(bf16_bits(0x007fffffu) == 0x0080);
    // Negative subnormals keep their sign, even when they round to zero: 0x80000001 -> -0.
    CHECK(bf16_bits(0x80000001u) == 0x8000);
    CHECK(bf16_bits(0x80018000u) == 0x8002);
}

TEST_CASE("bf16: float(bf16(x)) round-trips every bf16 bit pattern that is not NaN") {
    std::size_t checked = 0;
    for (std::uint32_t b = 0; b <= 0xffffu; ++b) {
        const auto bits = static_cast<std::uint16_t>(b);
        const float f = widen(bits);
        if (is_nan_bits(bits)) {
            // NaN patterns come back as NaN of the same sign with the quiet bit set.
            const std::uint16_t r = bf16(f).bits;
            CHECK(is_nan_bits(r));
            CHECK((r & 0x8000u) == (bits & 0x8000u));
            CHECK((r & 0x0040u) != 0);
            continue;
        }
        if (bf16(f).bits != bits) CHECK(bf16(f).bits == bits); // one CHECK per failure, not 65k
        ++checked;
    }
    // 65536 patterns less the NaNs: 2 signs x (2^7 - 1) non-zero mantissas with the exponent all ones.
    CHECK(checked == 65536 - 2 * 127);
}

TEST_CASE("bf16: rounding agrees with a distance-comparing oracle on every tie-adjacent pattern") {
    // For every kept half, the dropped halves that matter: exact, just above zero, just below,
    // at and around the tie, and all ones. NaNs are covered above.
    const std::uint32_t lows[] = {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu};
    std::size_t mismatches = 0;
    for (std::uint32_t hi = 0; hi <= 0xffffu; ++hi) {
        for (std::uint32_t lo : lows) {
            const std::uint32_t u = (hi << 16) | lo;
            if ((u & 0x7fffffffu) > 0x7f800000u) continue;
            if (bf16_bits(u) != oracle(u)) {
                if (++mismatches < 5) CHECK(bf16_bits(u) == oracle(u));
            }
        }
    }
    CHECK(mismatches == 0);
}

TEST_CASE("bf16: dtype names match safetensors and dtype_of maps each element type") {
    CHECK(to_string(dtype::f32) == "F32");
    CHECK(to_string(dtype::f64) == "F64");
    CHECK(to_string(dtype::bf16) == "BF16");
    CHECK(to_string(dtype::i64) == "I64");
    CHECK(to_string(dtype::i32) == "I32");
    CHECK(to_string(dtype::u8) == "U8");
    static_assert(dtype_of<float>() == dtype::f32);
    static_assert(dtype_of<const double>() == dtype::f64);
    static_assert(dtype_of<bf16>() == dtype::bf16);
    static_assert(dtype_of<std::int64_t>() == dtype::i64);
    static_assert(dtype_of<std::int32_t>() == dtype::i32);
    static_assert(dtype_of<std::uint8_t>() == dtype::u8);
    static_assert(element<bf16> && element<const float> && !element<std::int16_t> && !element<long double>);
    static_assert(real<float> && real<double> && !real<bf16>);
    static_assert(sizeof(bf16) == 2);
}

TEST_CASE("bf16: convert<bf16> of a float tensor rounds each element to nearest even, and back is exact") {
    tensor<float, extents<dyn>> x(7);
    const std::uint32_t in[] = {0x3f800000u, 0x3f808000u, 0x3f818000u, 0x3f808001u, 0x7f7fffffu, 0x80000000u, 0x00018000u};
    const std::uint16_t out[] = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x7f80, 0x8000, 0x0002};
    for (std::size_t i = 0; i < 7; ++i) x(i) = std::bit_cast<float>(in[i]);
    auto h = convert<bf16>(x);
    static_assert(std::is_same_v<decltype(h), tensor<bf16, extents<dyn>>>);
    REQUIRE(h.extent(0) == 7);
    for (std::size_t i = 0; i < 7; ++i) CHECK(h(i).bits == out[i]);
    auto back = convert<float>(h);
    static_assert(std::is_same_v<decltype(back), tensor<float, extents<dyn>>>);
    for (std::size_t i = 0; i < 7; ++i) CHECK(std::bit_cast<std::uint32_t>(back(i)) == std::uint32_t{out[i]} << 16);
}

TEST_CASE("bf16: convert of a strided view converts the viewed elements in row-major order") {
    tensor<float, extents<2, 3>> x;
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 3; ++c) x(r, c) = float(10 * r + c) + 0.5f;
    auto t = transpose<0, 1>(x); // (3, 2), non-contiguous
    auto h = convert<bf16>(t);
    static_assert(std::is_same_v<decltype(h), tensor<bf16, extents<3, 2>>>);
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 2; ++c) CHECK(float(h(r, c)) == x(c, r)); // small halves are exact in bf16
    auto d = convert<double>(x);
    CHECK(d(1, 2) == 12.5);
}

} }  // namespace test_dtype
