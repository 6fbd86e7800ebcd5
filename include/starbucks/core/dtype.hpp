// SPDX-License-Identifier: Apache-2.0
// Element types: float, double and bf16 storage with round-to-nearest-even conversion.
#pragma once

#include <bit>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// @brief bfloat16 storage: the top 16 bits of an IEEE float.
///
/// Arithmetic happens in float: convert with `float(x)`; conversion from float rounds to
/// nearest, ties to even, keeps infinities and turns every NaN into a quiet NaN of the same sign.
struct bf16 {
    std::uint16_t bits = 0;

    constexpr bf16() = default;
    constexpr explicit bf16(float f) noexcept : bits(round(f)) {}
    constexpr explicit operator float() const noexcept {
        return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
    }
    static constexpr bf16 from_bits(std::uint16_t b) noexcept {
        bf16 x;
        x.bits = b;
        return x;
    }
    friend constexpr bool operator==(bf16 a, bf16 b) noexcept { return a.bits == b.bits; }

private:
    static constexpr std::uint16_t round(float f) noexcept {
        const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep the sign, force the quiet bit
            return static_cast<std::uint16_t>((u >> 16) | 0x0040u);
        // Adding 0x7fff plus the lowest kept bit rounds half-way cases to the even neighbour;
        // overflow into the exponent correctly rounds the largest finite values to infinity.
        const std::uint32_t lsb = (u >> 16) & 1u;
        return static_cast<std::uint16_t>((u + 0x7fffu + lsb) >> 16);
    }
};
static_assert(sizeof(bf16) == 2);

/// The element types tensors may hold.
enum class dtype { f32, f64, bf16, i64, i32, u8 };

template <class T>
inline constexpr bool is_dtype_v = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, bf16> ||
                                   std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::int32_t> ||
                                   std::is_same_v<T, std::uint8_t>;

/// An element type a tensor may hold (const-qualified for read-only views).
template <class T>
concept element = is_dtype_v<std::remove_const_t<T>>;

/// Element types the math ops accept (bf16 is storage: convert first).
template <class T>
concept real = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <element T>
constexpr dtype dtype_of() noexcept {
    using U = std::remove_const_t<T>;
    if constexpr (std::is_same_v<U, float>) return dtype::f32;
    else if constexpr (std::is_same_v<U, double>) return dtype::f64;
    else if constexpr (std::is_same_v<U, bf16>) return dtype::bf16;
    else if constexpr (std::is_same_v<U, std::int64_t>) return dtype::i64;
    else if constexpr (std::is_same_v<U, std::int32_t>) return dtype::i32;
    else return dtype::u8;
}

/// Names as in safetensors headers.
constexpr std::string_view to_string(dtype t) noexcept {
    switch (t) {
    case dtype::f32: return "F32";
    case dtype::f64: return "F64";
    case dtype::bf16: return "BF16";
    case dtype::i64: return "I64";
    case dtype::i32: return "I32";
    case dtype::u8: return "U8";
    }
    return "?";
}

STARBUCKS_NAMESPACE_END
