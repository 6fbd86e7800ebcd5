// SPDX-License-Identifier: Apache-2.0
// extents<Es...>: a shape whose extents are each static or `dyn`, storing only the dynamic ones.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "shape.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// Marks an extent known only at run time.
inline constexpr std::size_t dyn = std::dynamic_extent;

/// @brief The extents of a tensor. Each `E` is a size fixed at compile time or `dyn`.
///
/// Represents: a row-major shape of rank sizeof...(Es).
/// Guarantees: only the dynamic values are stored (sizeof(extents<768,3072>) is 1, an empty class);
/// static values are available to `constexpr` shape arithmetic and `static_assert`s.
template <std::size_t... Es>
class extents {
public:
    static_assert(sizeof...(Es) <= max_rank, "starbucks::extents: rank exceeds the maximum rank 8");

    static constexpr std::size_t rank() noexcept { return sizeof...(Es); }
    static constexpr std::size_t rank_dynamic() noexcept { return ((Es == dyn ? 1 : 0) + ... + 0); }
    /// The static extent of axis i, or `dyn`.
    static constexpr std::size_t static_extent(std::size_t i) noexcept { return static_values[i]; }
    /// The number of elements when every extent is static, else `dyn`.
    static constexpr std::size_t static_size() noexcept {
        if constexpr (rank_dynamic() > 0) return dyn;
        else return (std::size_t{1} * ... * Es);
    }

    /// All-static extents need no values; dynamic ones start at 0.
    constexpr extents() noexcept = default;

    /// @brief From the dynamic values only (`extents<dyn, 768>(32)`), or from every value
    /// (`extents<dyn, 768>(32, 768)`).
    /// @throws shape_error when a value given for a static axis differs from it.
    template <std::integral... I>
        requires(sizeof...(I) > 0 && (sizeof...(I) == rank_dynamic() || sizeof...(I) == rank()))
    constexpr explicit extents(I... values) {
        const std::array<std::size_t, sizeof...(I)> v{static_cast<std::size_t>(values)...};
        if constexpr (sizeof...(I) == rank_dynamic() && rank_dynamic() != rank()) {
            for (std::size_t i = 0; i < rank_dynamic(); ++i) dynamic_[i] = v[i];
        } else {
            assign_all(std::span<const std::size_t>(v));
        }
    }

    /// @brief From a run-time shape of the same rank.
    /// @throws shape_error when the rank or a static extent differs.
    constexpr explicit extents(const shape& s) {
        if (s.rank != rank())
            throw shape_error("starbucks::extents", "rank " + std::to_string(s.rank) + " of " + to_string(s) +
                                                        " differs from rank " + std::to_string(rank()));
        assign_all(std::span<const std::size_t>(s.dims.data(), s.rank));
    }

    constexpr std::size_t extent(std::size_t i) const noexcept {
        if (static_values[i] != dyn) return static_values[i];
        return dynamic_[dynamic_index[i]];
    }
    constexpr std::size_t size() const noexcept {
        std::size_t n = 1;
        for (std::size_t i = 0; i < rank(); ++i) n *= extent(i);
        return n;
    }
    constexpr shape to_shape() const noexcept {
        shape s;
        s.rank = rank();
        for (std::size_t i = 0; i < rank(); ++i) s.dims[i] = extent(i);
        return s;
    }

    template <std::size_t... Os>
    friend constexpr bool operator==(const extents& a, const extents<Os...>& b) noexcept {
        return a.to_shape() == b.to_shape();
    }

private:
    static constexpr std::array<std::size_t, sizeof...(Es)> static_values{Es...};
    static constexpr std::array<std::size_t, sizeof...(Es)> dynamic_index = [] {
        std::array<std::size_t, sizeof...(Es)> idx{};
        std::size_t k = 0;
        for (std::size_t i = 0; i < sizeof...(Es); ++i) idx[i] = static_values[i] == dyn ? k++ : k;
        return idx;
    }();

    constexpr void assign_all(std::span<const std::size_t> v) {
        for (std::size_t i = 0; i < rank(); ++i) {
            if (static_values[i] == dyn) {
                if constexpr (rank_dynamic() > 0) dynamic_[dynamic_index[i]] = v[i];
            } else if (v[i] != static_values[i]) {
                throw shape_error("starbucks::extents", "value " + std::to_string(v[i]) + " for static axis " +
                                                            std::to_string(i) + " of extent " +
                                                            std::to_string(static_values[i]));
            }
        }
    }

    // std::array<T, 0> is not an empty class in libstdc++ (it holds an empty struct member), so
    // all-static extents store this truly empty stand-in instead.
    struct no_values {
        constexpr std::size_t operator[](std::size_t) const noexcept { return 0; }
    };
    [[no_unique_address]] std::conditional_t<rank_dynamic() == 0, no_values, std::array<std::size_t, rank_dynamic()>>
        dynamic_{};
};


template <class T>
inline constexpr bool is_extents_v = false;
template <std::size_t... Es>
inline constexpr bool is_extents_v<extents<Es...>> = true;

/// Anything that is an `extents<...>`.
template <class T>
concept extents_type = is_extents_v<T>;

/// A compile-time size carried as a value: `prefix(x, constant<32>{})`.
template <std::size_t N>
struct constant : std::integral_constant<std::size_t, N> {};

/// Two extents agree when either is dynamic or they are equal.
constexpr bool extents_agree(std::size_t a, std::size_t b) noexcept { return a == dyn || b == dyn || a == b; }
/// The better-known of two agreeing extents.
constexpr std::size_t merge_extent(std::size_t a, std::size_t b) noexcept { return a == dyn ? b : a; }

namespace detail {
template <class E, std::size_t Axis, std::size_t New, class Seq = std::make_index_sequence<E::rank()>>
struct replace_extent;
template <class E, std::size_t Axis, std::size_t New, std::size_t... I>
struct replace_extent<E, Axis, New, std::index_sequence<I...>> {
    using type = extents<(I == Axis ? New : E::static_extent(I))...>;
};

template <class E, std::size_t Axis, class Seq = std::make_index_sequence<E::rank() - 1>>
struct drop_extent;
template <class E, std::size_t Axis, std::size_t... I>
struct drop_extent<E, Axis, std::index_sequence<I...>> {
    using type = extents<E::static_extent(I < Axis ? I : I + 1)...>;
};

template <class A, class B, class Seq = std::make_index_sequence<A::rank()>>
struct merge_extents;
template <class A, class B, std::size_t... I>
struct merge_extents<A, B, std::index_sequence<I...>> {
    using type = extents<merge_extent(A::static_extent(I), B::static_extent(I))...>;
};

template <class A, class B, class Seq = std::make_index_sequence<(A::rank() > B::rank() ? A::rank() : B::rank())>>
struct broadcast_extents;
template <class A, class B, std::size_t... I>
struct broadcast_extents<A, B, std::index_sequence<I...>> {
    static constexpr std::size_t rank = sizeof...(I);
    // Axis i of the result, aligned from the right; a missing or static-1 axis broadcasts.
    static constexpr std::size_t at(std::size_t i) {
        const std::size_t a = i + A::rank() >= rank ? A::static_extent(i + A::rank() - rank) : 1;
        const std::size_t b = i + B::rank() >= rank ? B::static_extent(i + B::rank() - rank) : 1;
        if (a == 1) return b;
        if (b == 1) return a;
        return merge_extent(a, b);
    }
    using type = extents<at(I)...>;
};

template <class E, class Seq = std::make_index_sequence<E::rank()>>
struct all_dynamic;
template <class E, std::size_t... I>
struct all_dynamic<E, std::index_sequence<I...>> {
    using type = extents<(static_cast<void>(I), dyn)...>;
};
} // namespace detail

/// All-dynamic extents of rank R.
template <std::size_t R>
using dextents = typename detail::all_dynamic<extents<>, std::make_index_sequence<R>>::type;

/// `E` with axis `Axis` replaced by `New` (static or dyn).
template <class E, std::size_t Axis, std::size_t New>
using replace_extent_t = typename detail::replace_extent<E, Axis, New>::type;
/// `E` without axis `Axis`.
template <class E, std::size_t Axis>
using drop_extent_t = typename detail::drop_extent<E, Axis>::type;
/// Same-rank extents merged axis by axis (static wins over dyn); caller checks agreement.
template <class A, class B>
using merge_extents_t = typename detail::merge_extents<A, B>::type;
/// NumPy broadcasting of two extents, aligned from the right.
template <class A, class B>
using broadcast_extents_t = typename detail::broadcast_extents<A, B>::type;
/// Same rank, every axis dynamic.
template <class E>
using all_dynamic_t = typename detail::all_dynamic<E>::type;

/// True when every axis of A and B (same rank) agrees statically.
template <class A, class B>
constexpr bool all_extents_agree() noexcept {
    if constexpr (A::rank() != B::rank()) return false;
    else {
        for (std::size_t i = 0; i < A::rank(); ++i)
            if (!extents_agree(A::static_extent(i), B::static_extent(i))) return false;
        return true;
    }
}

/// True when A and B may broadcast together (aligned from the right, static sizes equal or 1).
template <class A, class B>
constexpr bool extents_broadcastable() noexcept {
    constexpr std::size_t r = A::rank() > B::rank() ? A::rank() : B::rank();
    for (std::size_t i = 0; i < r; ++i) {
        const std::size_t a = i + A::rank() >= r ? A::static_extent(i + A::rank() - r) : 1;
        const std::size_t b = i + B::rank() >= r ? B::static_extent(i + B::rank() - r) : 1;
        if (a != 1 && b != 1 && !extents_agree(a, b)) return false;
    }
    return true;
}

/// "(32, 768)".
template <std::size_t... Es>
std::string to_string(const extents<Es...>& e) {
    return to_string(e.to_shape());
}

STARBUCKS_NAMESPACE_END
