// SPDX-License-Identifier: Apache-2.0
// Run-time shapes and strided layouts: what backends and error messages see of a tensor.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>

#include "error.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// The highest tensor rank the library handles (safetensors files are limited to the same).
inline constexpr std::size_t max_rank = 8;

/// @brief A run-time shape: rank and extents, no storage of its own.
struct shape {
    std::size_t rank = 0;
    std::array<std::size_t, max_rank> dims{};

    constexpr shape() = default;
    constexpr shape(std::initializer_list<std::size_t> values) {
        if (values.size() > max_rank) throw shape_error("starbucks::shape", "rank " + std::to_string(values.size()) + " exceeds the maximum rank 8");
        for (std::size_t v : values) dims[rank++] = v;
    }

    constexpr std::size_t operator[](std::size_t i) const { return dims[i]; }
    /// Number of elements; 1 for rank 0.
    constexpr std::size_t size() const {
        std::size_t n = 1;
        for (std::size_t i = 0; i < rank; ++i) n *= dims[i];
        return n;
    }
    friend constexpr bool operator==(const shape& a, const shape& b) {
        if (a.rank != b.rank) return false;
        for (std::size_t i = 0; i < a.rank; ++i)
            if (a.dims[i] != b.dims[i]) return false;
        return true;
    }
};

/// "(32, 768)"; "()" for a scalar.
inline std::string to_string(const shape& s) {
    std::string out = "(";
    for (std::size_t i = 0; i < s.rank; ++i) {
        if (i) out += ", ";
        out += std::to_string(s.dims[i]);
    }
    return out + ")";
}

/// @brief A shape with element strides: how a backend walks a possibly non-contiguous operand.
/// A stride of 0 broadcasts (reads) or reduces (accumulates) along that axis.
struct layout {
    shape dims;
    std::array<std::ptrdiff_t, max_rank> strides{};

    /// Row-major contiguous layout of `s`.
    static constexpr layout contiguous(const shape& s) {
        layout l;
        l.dims = s;
        std::ptrdiff_t stride = 1;
        for (std::size_t i = s.rank; i-- > 0;) {
            l.strides[i] = stride;
            stride *= static_cast<std::ptrdiff_t>(s.dims[i]);
        }
        return l;
    }
    /// True when the elements are dense and row-major (axes of extent 1 may have any stride).
    constexpr bool is_contiguous() const {
        std::ptrdiff_t expected = 1;
        for (std::size_t i = dims.rank; i-- > 0;) {
            if (dims.dims[i] != 1 && strides[i] != expected) return false;
            expected *= static_cast<std::ptrdiff_t>(dims.dims[i]);
        }
        return true;
    }
    constexpr std::size_t size() const { return dims.size(); }
};

/// "(32, 768) strides (768, 1)".
inline std::string to_string(const layout& l) {
    std::string out = to_string(l.dims) + " strides (";
    for (std::size_t i = 0; i < l.dims.rank; ++i) {
        if (i) out += ", ";
        out += std::to_string(l.strides[i]);
    }
    return out + ")";
}

STARBUCKS_NAMESPACE_END
