// SPDX-License-Identifier: Apache-2.0
// matryoshka pairs: the (layers, dims) sizes a 2D Matryoshka model is trained and served at.
// A compile-time list `pairs<pair<2,32>, ...>` checked by static_assert, and its runtime twin
// `pair_list`, parsed from `--pairs 2:32,4:64` or starbucks_config.json and checked against a model.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../config.hpp"
#include "../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace matryoshka {

/// @brief One sub-model: run the first `layers` transformer layers, keep the first `dim` coordinates.
struct size_pair {
    std::size_t layers = 0;
    std::size_t dim = 0;
    friend constexpr bool operator==(const size_pair&, const size_pair&) = default;
};

/// `(2,32)`: the form used in messages and tables.
inline std::string to_string(const size_pair& p) { return "(" + std::to_string(p.layers) + "," + std::to_string(p.dim) + ")"; }
/// `n2_d32`: the stable name of a pair in logs and reports (`loss_n2_d32`).
inline std::string label(const size_pair& p) { return "n" + std::to_string(p.layers) + "_d" + std::to_string(p.dim); }

/// A pair known at compile time.
template <std::size_t N, std::size_t D>
struct pair {
    static constexpr std::size_t layers = N;
    static constexpr std::size_t dim = D;
    static constexpr size_pair value() { return {N, D}; }
};

namespace detail {
template <class P>
inline constexpr bool is_pair_v = false;
template <std::size_t N, std::size_t D>
inline constexpr bool is_pair_v<pair<N, D>> = true;

template <class... P>
constexpr bool strictly_increasing() {
    constexpr std::array<size_pair, sizeof...(P)> v{P::value()...};
    for (std::size_t i = 1; i < v.size(); ++i)
        if (v[i].layers <= v[i - 1].layers || v[i].dim <= v[i - 1].dim) return false;
    return true;
}
template <class... P>
constexpr bool all_positive() {
    return ((P::layers > 0 && P::dim > 0) && ...);
}
} // namespace detail

/// @brief A compile-time pair list, small to large: `pairs<pair<2,32>, pair<4,64>, pair<6,128>>`.
/// Requires: non-empty, every n and d positive, n and d strictly increasing (one message each).
template <class... P>
struct pairs {
    static_assert((detail::is_pair_v<P> && ...), "starbucks::matryoshka::pairs: every entry must be a matryoshka::pair<n, d>");
    static_assert(sizeof...(P) > 0, "starbucks::matryoshka::pairs: the list must not be empty");
    static_assert(detail::all_positive<P...>(), "starbucks::matryoshka::pairs: layers and dims must be positive");
    static_assert(detail::strictly_increasing<P...>(),
                  "starbucks::matryoshka::pairs: layers and dims must both increase strictly from pair to pair");

    static constexpr std::size_t size() noexcept { return sizeof...(P); }
    static constexpr std::array<size_pair, sizeof...(P)> values{P::value()...};
    /// The largest pair: the teacher of SRL's KL terms.
    static constexpr size_pair largest() noexcept { return values.back(); }
    /// Calls f(pair<n, d>{}) for each pair in order.
    template <class F>
    static constexpr void for_each(F&& f) {
        (f(P{}), ...);
    }
    /// Static check that the list fits a model `Layers` deep and `Width` wide.
    template <std::size_t Layers, std::size_t Width>
    static constexpr bool fits() noexcept {
        return largest().layers <= Layers && largest().dim <= Width;
    }
};

/// @brief The runtime twin of `pairs`: a validated, non-empty list of sizes, small to large.
class pair_list {
public:
    pair_list() = default;
    /// @throws usage_error (naming `origin`) when the list is empty, a size is 0, or n and d
    /// do not both increase strictly.
    explicit pair_list(std::vector<size_pair> v, std::string origin = "pair list") : pairs_(std::move(v)) {
        if (pairs_.empty()) throw usage_error(origin, "the pair list is empty; give at least one layers:dim pair");
        for (std::size_t i = 0; i < pairs_.size(); ++i) {
            if (pairs_[i].layers == 0 || pairs_[i].dim == 0)
                throw usage_error(origin, "pair " + matryoshka::to_string(pairs_[i]) + " has a zero size; layers and dims start at 1");
            if (i > 0 && (pairs_[i].layers <= pairs_[i - 1].layers || pairs_[i].dim <= pairs_[i - 1].dim))
                throw usage_error(origin, "pairs must grow in both layers and dims, small to large; " + matryoshka::to_string(pairs_[i - 1]) +
                                              " is followed by " + matryoshka::to_string(pairs_[i]));
        }
    }
    /// From a compile-time list.
    template <class... P>
    static pair_list from(pairs<P...>) {
        return pair_list(std::vector<size_pair>{P::value()...});
    }

    /// @brief Parses `2:32,4:64,6:128` (spaces allowed around entries) into a validated list.
    /// @throws usage_error naming `origin` and the offending entry.
    static pair_list parse(std::string_view text, const std::string& origin = "--pairs") {
        return pair_list(parse_sizes(text, origin), origin);
    }
    /// @brief Parses `layers:dim` entries without requiring a Matryoshka order (sizes to evaluate).
    /// @throws usage_error naming `origin` and an entry that is not two positive integers.
    static std::vector<size_pair> parse_sizes(std::string_view text, const std::string& origin = "--pairs") {
        std::vector<size_pair> out;
        std::size_t start = 0;
        while (start <= text.size()) {
            const std::size_t comma = std::min(text.find(',', start), text.size());
            const std::string_view entry = trim(text.substr(start, comma - start));
            const std::size_t colon = entry.find(':');
            size_pair p;
            if (colon == std::string_view::npos || !parse_size(entry.substr(0, colon), p.layers) ||
                !parse_size(entry.substr(colon + 1), p.dim))
                throw usage_error(origin, "\"" + shown(entry) + "\" is not a layers:dim pair (expected e.g. 2:32,4:64)");
            if (p.layers == 0 || p.dim == 0)
                throw usage_error(origin, "pair " + matryoshka::to_string(p) + " has a zero size; layers and dims start at 1");
            out.push_back(p);
            start = comma + 1;
        }
        return out;
    }

    /// @brief A flag entry as an error shows it, cut after 40 bytes: pairs are ASCII, so every
    /// other byte (and the quote and backslash) prints as a hex escape, which keeps terminal
    /// sequences out of messages.
    static std::string shown(std::string_view entry) {
        static constexpr char hex[] = "0123456789abcdef";
        std::string out;
        for (const char c : entry.substr(0, 40)) {
            const auto b = static_cast<unsigned char>(c);
            if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') out += c;
            else out += {'\\', 'x', hex[b >> 4], hex[b & 15]};
        }
        return entry.size() > 40 ? out + "..." : out;
    }

    /// @brief The list must fit a model of `layers` layers and `width` dims.
    /// @throws usage_error naming the first pair that does not and what is allowed.
    void check_fits(std::size_t layers, std::size_t width, const std::string& origin = "pair list") const {
        for (const auto& p : pairs_)
            if (p.layers > layers || p.dim > width)
                throw usage_error(origin, "pair " + matryoshka::to_string(p) + " is larger than the model; allowed: layers 1.." + std::to_string(layers) +
                                              ", dims 1.." + std::to_string(width));
    }

    /// @brief The position of (n, d) in the list.
    /// @throws usage_error `(5, 96) is not a declared pair; allowed: (2,32) (4,64) ...`.
    std::size_t index_of(size_pair p, const std::string& origin = "starbucks::matryoshka") const {
        for (std::size_t i = 0; i < pairs_.size(); ++i)
            if (pairs_[i] == p) return i;
        throw usage_error(origin, "(" + std::to_string(p.layers) + ", " + std::to_string(p.dim) + ") is not a declared pair; allowed: " +
                                      to_string());
    }
    bool contains(size_pair p) const noexcept {
        for (const auto& q : pairs_)
            if (q == p) return true;
        return false;
    }

    std::size_t size() const noexcept { return pairs_.size(); }
    const size_pair& operator[](std::size_t i) const { return pairs_.at(i); }
    const size_pair& largest() const { return pairs_.back(); }
    auto begin() const noexcept { return pairs_.begin(); }
    auto end() const noexcept { return pairs_.end(); }
    const std::vector<size_pair>& values() const noexcept { return pairs_; }
    /// `(2,32) (4,64) (6,128)`.
    std::string to_string() const {
        std::string s;
        for (const auto& p : pairs_) {
            if (!s.empty()) s += ' ';
            s += matryoshka::to_string(p);
        }
        return s;
    }
    /// `2:32,4:64,6:128`: what parse reads back.
    std::string to_flag() const {
        std::string s;
        for (const auto& p : pairs_) {
            if (!s.empty()) s += ',';
            s.append(std::to_string(p.layers)).append(":").append(std::to_string(p.dim));
        }
        return s;
    }
    friend bool operator==(const pair_list&, const pair_list&) = default;

private:
    static std::string_view trim(std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        return s;
    }
    static bool parse_size(std::string_view s, std::size_t& out) {
        s = trim(s);
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return !s.empty() && ec == std::errc() && end == s.data() + s.size();
    }

    std::vector<size_pair> pairs_;
};

/// @brief The default list for a model `layers` deep and `width` wide (METHOD.md §1).
///
/// Six sizes, layers at L/6, 2L/6, ..., L. Dims: the paper's lists where it gives them
/// (768 -> 32 64 128 256 512 768; 384 -> 32 64 128 192 256 384), generalised as
/// 32, 64, 128, then W/3 (W/2 when W/3 <= 128), 2W/3, W for W >= 384; narrower models get
/// W·(1/8, 1/4, 3/8, 1/2, 3/4, 1) (256 -> 32 64 96 128 192 256). Dims round down to a multiple of
/// 8 from width 64 up. A model with fewer than 6 layers gets one pair per layer with the largest
/// dims; repeated dims of very narrow models are dropped. Always ends at (layers, width).
/// @throws usage_error for a zero-sized model.
inline pair_list default_pairs(std::size_t layers, std::size_t width) {
    if (layers == 0 || width == 0) throw usage_error("starbucks::matryoshka::default_pairs", "the model has no layers or no width");
    const auto round = [&](std::size_t d) { return width >= 64 ? d / 8 * 8 : d; };
    std::vector<std::size_t> candidates;
    if (width >= 384) {
        const std::size_t fourth = width / 3 > 128 ? width / 3 : width / 2;
        candidates = {32, 64, 128, round(fourth), round(2 * width / 3), width};
    } else {
        for (std::size_t eighths : {1u, 2u, 3u, 4u, 6u}) candidates.push_back(round(width * eighths / 8));
        candidates.push_back(width);
    }
    std::vector<std::size_t> dims;
    for (std::size_t d : candidates)
        if (d > 0 && (dims.empty() || d > dims.back())) dims.push_back(d);
    const std::size_t count = std::min({std::size_t{6}, layers, dims.size()});
    std::vector<size_pair> out;
    for (std::size_t i = 1; i <= count; ++i) {
        const auto n = static_cast<std::size_t>(std::llround(double(layers) * double(i) / double(count)));
        out.push_back({std::max<std::size_t>(n, i), dims[dims.size() - count + i - 1]});
    }
    return pair_list(std::move(out), "starbucks::matryoshka::default_pairs");
}

namespace detail {
template <class F, class P0, class... P>
decltype(auto) with_pair(pairs<P0, P...> list, std::size_t n, std::size_t d, F& f) {
    using R = decltype(f(P0{}));
    if constexpr (std::is_void_v<R>) {
        const bool found = ((P0::layers == n && P0::dim == d) ? (f(P0{}), true) : false) ||
                           (((P::layers == n && P::dim == d) ? (f(P{}), true) : false) || ...);
        if (!found) pair_list::from(list).index_of({n, d}, "starbucks::matryoshka::with_pair");
    } else {
        static_assert((std::is_same_v<R, decltype(f(P{}))> && ...),
                      "starbucks::matryoshka::with_pair: f must return the same type for every pair");
        std::optional<R> r;
        (void)(((P0::layers == n && P0::dim == d) ? (r.emplace(f(P0{})), true) : false) ||
               (((P::layers == n && P::dim == d) ? (r.emplace(f(P{})), true) : false) || ...));
        if (!r) pair_list::from(list).index_of({n, d}, "starbucks::matryoshka::with_pair");
        return R(std::move(*r));
    }
}
} // namespace detail

/// @brief Calls f with the compile-time pair of `List` equal to (n, d): `f(pair<n, d>{})`.
/// Runtime -> compile-time dispatch covers only the declared list (no instantiations for
/// arbitrary sizes); f returns the same type for every pair.
/// @throws usage_error `(5, 96) is not a declared pair; allowed: (2,32) (4,64) ...`.
template <class List, class F>
decltype(auto) with_pair(List list, std::size_t n, std::size_t d, F&& f) {
    return detail::with_pair(list, n, d, f);
}

} // namespace matryoshka
STARBUCKS_NAMESPACE_END
