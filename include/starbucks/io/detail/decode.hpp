// SPDX-License-Identifier: Apache-2.0
// Converting stored safetensors elements to tensor element types, reading unaligned bytes with
// memcpy. Private to io/; include <starbucks/io/safetensors.hpp> instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

#include "../../core/dtype.hpp"
#include "../tensor_info.hpp"
#include "f16.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io::detail {

/// @brief Whether stored `s` reads into T without losing information: exact, or a widening
/// (BF16/F16/F32 to float or double, smaller integers and BOOL to larger integers).
template <class T>
constexpr bool can_decode(safetensors_dtype s) noexcept {
    using D = safetensors_dtype;
    if constexpr (std::is_same_v<T, float>) return s == D::f32 || s == D::bf16 || s == D::f16;
    else if constexpr (std::is_same_v<T, double>) return s == D::f64 || s == D::f32 || s == D::bf16 || s == D::f16;
    else if constexpr (std::is_same_v<T, bf16>) return s == D::bf16;
    else if constexpr (std::is_same_v<T, std::int64_t>)
        return s == D::i64 || s == D::i32 || s == D::i16 || s == D::i8 || s == D::u8 || s == D::boolean;
    else if constexpr (std::is_same_v<T, std::int32_t>)
        return s == D::i32 || s == D::i16 || s == D::i8 || s == D::u8 || s == D::boolean;
    else if constexpr (std::is_same_v<T, std::uint8_t>) return s == D::u8 || s == D::boolean;
    else return false;
}

/// out[i] = f(element i of src as S); memcpy because src may be unaligned for S.
template <class S, class T, class F>
void convert_each(std::span<const std::byte> src, T* out, F f) {
    const std::size_t n = src.size() / sizeof(S);
    for (std::size_t i = 0; i < n; ++i) {
        S v;
        std::memcpy(&v, src.data() + i * sizeof(S), sizeof(S));
        out[i] = f(v);
    }
}

/// @brief Fills out[0 .. src.size() / size_of(s)) from stored elements; requires can_decode<T>(s).
/// @return the index of a BOOL byte that is neither 0 nor 1, if any (the caller reports it).
template <class T>
std::optional<std::size_t> decode(safetensors_dtype s, std::span<const std::byte> src, T* out) {
    using D = safetensors_dtype;
    if (s == safetensors_dtype_of<T>()) {
        if (!src.empty()) std::memcpy(out, src.data(), src.size());
        return std::nullopt;
    }
    if constexpr (std::is_floating_point_v<T>) {
        switch (s) {
        case D::f32: convert_each<float>(src, out, [](float v) { return static_cast<T>(v); }); break;
        case D::bf16:
            convert_each<std::uint16_t>(src, out, [](std::uint16_t b) { return static_cast<T>(static_cast<float>(bf16::from_bits(b))); });
            break;
        case D::f16: convert_each<std::uint16_t>(src, out, [](std::uint16_t b) { return static_cast<T>(f16_to_float(b)); }); break;
        default: break;
        }
    } else if constexpr (std::is_integral_v<T>) {
        switch (s) {
        case D::i32: convert_each<std::int32_t>(src, out, [](std::int32_t v) { return static_cast<T>(v); }); break;
        case D::i16: convert_each<std::int16_t>(src, out, [](std::int16_t v) { return static_cast<T>(v); }); break;
        case D::i8: convert_each<std::int8_t>(src, out, [](std::int8_t v) { return static_cast<T>(v); }); break;
        case D::u8: convert_each<std::uint8_t>(src, out, [](std::uint8_t v) { return static_cast<T>(v); }); break;
        case D::boolean:
            for (std::size_t i = 0; i < src.size(); ++i) {
                const auto b = std::to_integer<unsigned>(src[i]);
                if (b > 1) return i;
                out[i] = static_cast<T>(b);
            }
            break;
        default: break;
        }
    }
    return std::nullopt;
}

} // namespace io::detail
STARBUCKS_NAMESPACE_END
