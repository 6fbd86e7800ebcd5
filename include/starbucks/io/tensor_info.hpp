// SPDX-License-Identifier: Apache-2.0
// What a safetensors header says about one tensor: name, stored dtype, shape and byte range.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "../core/dtype.hpp"
#include "../core/shape.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io {

/// @brief The stored element types this library reads. Other dtypes of the safetensors format
/// (F8_E4M3, U32, C64, ...) are recognised and refused with unsupported_error.
enum class safetensors_dtype { f64, f32, f16, bf16, i64, i32, i16, i8, u8, boolean };

/// The name a safetensors header uses: "F32", "BOOL", ...
constexpr std::string_view to_string(safetensors_dtype t) noexcept {
    switch (t) {
    case safetensors_dtype::f64: return "F64";
    case safetensors_dtype::f32: return "F32";
    case safetensors_dtype::f16: return "F16";
    case safetensors_dtype::bf16: return "BF16";
    case safetensors_dtype::i64: return "I64";
    case safetensors_dtype::i32: return "I32";
    case safetensors_dtype::i16: return "I16";
    case safetensors_dtype::i8: return "I8";
    case safetensors_dtype::u8: return "U8";
    case safetensors_dtype::boolean: return "BOOL";
    }
    return "?";
}

/// Bytes per element.
constexpr std::size_t size_of(safetensors_dtype t) noexcept {
    switch (t) {
    case safetensors_dtype::f64:
    case safetensors_dtype::i64: return 8;
    case safetensors_dtype::f32:
    case safetensors_dtype::i32: return 4;
    case safetensors_dtype::f16:
    case safetensors_dtype::bf16:
    case safetensors_dtype::i16: return 2;
    case safetensors_dtype::i8:
    case safetensors_dtype::u8:
    case safetensors_dtype::boolean: return 1;
    }
    return 1;
}

inline constexpr std::array<safetensors_dtype, 10> readable_safetensors_dtypes{
    safetensors_dtype::f64, safetensors_dtype::f32, safetensors_dtype::f16, safetensors_dtype::bf16,
    safetensors_dtype::i64, safetensors_dtype::i32, safetensors_dtype::i16, safetensors_dtype::i8,
    safetensors_dtype::u8,  safetensors_dtype::boolean};

/// The dtype a header names, if this library reads it (names are case-sensitive).
constexpr std::optional<safetensors_dtype> parse_safetensors_dtype(std::string_view name) noexcept {
    for (safetensors_dtype t : readable_safetensors_dtypes)
        if (to_string(t) == name) return t;
    return std::nullopt;
}

/// True for dtypes the safetensors format defines but this library does not read.
constexpr bool is_unsupported_safetensors_dtype(std::string_view name) noexcept {
    constexpr std::array<std::string_view, 10> known{"F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2",
                                                     "F4",      "U16",     "U32",     "U64",     "C64"};
    for (std::string_view k : known)
        if (k == name) return true;
    return false;
}

/// The stored dtype that holds a tensor element type exactly.
template <element T>
constexpr safetensors_dtype safetensors_dtype_of() noexcept {
    switch (dtype_of<T>()) {
    case dtype::f32: return safetensors_dtype::f32;
    case dtype::f64: return safetensors_dtype::f64;
    case dtype::bf16: return safetensors_dtype::bf16;
    case dtype::i64: return safetensors_dtype::i64;
    case dtype::i32: return safetensors_dtype::i32;
    case dtype::u8: return safetensors_dtype::u8;
    }
    return safetensors_dtype::u8;
}

/// @brief One tensor as its safetensors header describes it, after validation.
///
/// Guarantees: `end - begin == dims.size() * size_of(dtype)`, and the range lies inside the
/// file's data section, which starts right after the header.
struct tensor_info {
    std::string name;
    safetensors_dtype dtype = safetensors_dtype::f32;
    shape dims;
    std::uint64_t begin = 0; ///< data_offsets[0]: first byte, relative to the data section
    std::uint64_t end = 0;   ///< data_offsets[1]: one past the last byte
    std::size_t header_offset = 0; ///< of the tensor's name inside the JSON header (for messages)

    std::size_t size() const noexcept { return dims.size(); }
    std::uint64_t byte_size() const noexcept { return end - begin; }
};

} // namespace io
STARBUCKS_NAMESPACE_END
