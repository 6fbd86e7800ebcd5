// SPDX-License-Identifier: Apache-2.0
// Reference backend: dropout and random fills, drawn element by element from Philox.
#pragma once

#include "../../core/rng.hpp"
#include "../concepts.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct reference_random {
    /// Element i is kept when uniform(i) >= p (word rng.offset + i); mask[i] = kept ? 1 / (1 - p) : 0; y = x * mask.
    template <class C, class T>
    static void dropout(C&, std::size_t n, T p, rng_stream rng, const T* x, T* y, T* mask) {
        dropout_range(0, n, p, rng, x, y, mask);
    }
    /// Elements [begin, end) of dropout; one Philox call serves four consecutive elements.
    template <class T>
    static void dropout_range(std::size_t begin, std::size_t end, T p, rng_stream rng, const T* x, T* y, T* mask) {
        const T keep_scale = p < T(1) ? T(1) / (T(1) - p) : T(0);
        for (std::size_t i = begin; i < end;) {
            const std::uint64_t word = rng.offset + i;
            const auto words = rng.block(word >> 2);
            for (std::size_t lane = word & 3; lane < 4 && i < end; ++lane, ++i) {
                mask[i] = T(rng_stream::to_uniform(words[lane])) >= p ? keep_scale : T(0);
                y[i] = x[i] * mask[i];
            }
        }
    }

    /// y[i] = lo + (hi - lo) * uniform(i).
    template <class C, class T>
    static void fill_uniform(C&, std::size_t n, rng_stream rng, T lo, T hi, T* y) {
        for (std::size_t i = 0; i < n; ++i) y[i] = T(lo + (hi - lo) * T(rng.uniform_double(i)));
    }

    /// y[i] = mean + stddev * normal(i).
    template <class C, class T>
    static void fill_normal(C&, std::size_t n, rng_stream rng, T mean, T stddev, T* y) {
        for (std::size_t i = 0; i < n; ++i) y[i] = T(mean + stddev * T(rng.normal(i)));
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
