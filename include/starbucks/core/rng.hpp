// SPDX-License-Identifier: Apache-2.0
// Philox 4x32-10, a counter-based RNG: element i of a random tensor depends only on (seed, stream, i).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// @brief Philox 4x32 with 10 rounds (Salmon et al., SC'11), as in Random123.
///
/// Counter-based: the output is a pure function of (counter, key), so a kernel can draw element
/// i without any sequential state. That makes dropout masks and initialisation identical for a
/// seed regardless of thread count, chunking or backend.
struct philox4x32 {
    using counter_type = std::array<std::uint32_t, 4>;
    using key_type = std::array<std::uint32_t, 2>;

    static constexpr counter_type generate(counter_type ctr, key_type key) noexcept {
        for (int round = 0; round < 10; ++round) {
            if (round > 0) {
                key[0] += 0x9E3779B9u; // golden ratio
                key[1] += 0xBB67AE85u; // sqrt(3) - 1
            }
            const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * ctr[0];
            const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * ctr[2];
            const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
            const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
            ctr = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
        }
        return ctr;
    }
};

/// @brief Where random numbers come from: a seed and a stream id (one per use site, e.g. per
/// dropout call), plus the element index. Counter = (word / 4, stream); key = seed.
struct rng_stream {
    std::uint64_t seed = 0;
    std::uint64_t stream = 0;
    /// The stream's word that element 0 draws: a kernel working on a tile of a larger tensor
    /// (fused attention, one sample at a time) draws the same bits as one pass over the whole.
    std::uint64_t offset = 0;

    /// The same stream, starting `words` further on.
    constexpr rng_stream advanced(std::uint64_t words) const noexcept { return {seed, stream, offset + words}; }

    /// Words 4b .. 4b+3 of this stream, not counting `offset`: one Philox call (a kernel
    /// drawing consecutive words uses all four).
    constexpr philox4x32::counter_type block(std::uint64_t b) const noexcept {
        const philox4x32::counter_type ctr{static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(b >> 32),
                                           static_cast<std::uint32_t>(stream),
                                           static_cast<std::uint32_t>(stream >> 32)};
        const philox4x32::key_type key{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
        return philox4x32::generate(ctr, key);
    }
    /// The i-th 32-bit random word of this stream (word offset + i).
    constexpr std::uint32_t bits(std::uint64_t i) const noexcept { return block((offset + i) >> 2)[(offset + i) & 3]; }
    /// A word as a uniform in [0, 1) with 24 random bits: exactly representable in float.
    static constexpr float to_uniform(std::uint32_t word) noexcept { return static_cast<float>(word >> 8) * (1.0f / 16777216.0f); }
    /// Uniform in [0, 1) with 24 random bits: exactly representable in float.
    constexpr float uniform(std::uint64_t i) const noexcept { return to_uniform(bits(i)); }
    /// Uniform in [0, 1) with 53 random bits, from words 2i and 2i+1.
    constexpr double uniform_double(std::uint64_t i) const noexcept {
        const std::uint64_t hi = bits(2 * i), lo = bits(2 * i + 1);
        return static_cast<double>(((hi << 32) | lo) >> 11) * 0x1.0p-53;
    }
    /// Standard normal by Box-Muller on two 53-bit uniforms of element i (cosine branch only, so
    /// element i never depends on its neighbours).
    double normal(std::uint64_t i) const noexcept {
        const double u1 = 1.0 - uniform_double(2 * i); // (0, 1]: log stays finite
        const double u2 = uniform_double(2 * i + 1);
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }
};

STARBUCKS_NAMESPACE_END
