// SPDX-License-Identifier: Apache-2.0
// Dropout and the AdamW update for the fast host backends: the reference kernels run in fixed
// chunks over the OpenMP pool. Both are element-wise (Philox draws are counter-based), so any
// thread count gives the reference's bits.
#pragma once

#include <vector>

#include "../reference/optim.hpp"
#include "../reference/random.hpp"
#include "parallel.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct cpu_random : reference_random {
    static constexpr std::size_t chunk = 1 << 14;

    template <class C, class T>
    static void dropout(C&, std::size_t n, T p, rng_stream rng, const T* x, T* y, T* mask) {
        parallel_chunks(n, chunk, [&](std::size_t b, std::size_t e) { dropout_range(b, e, p, rng, x, y, mask); });
    }
};

struct cpu_optim {
    static constexpr std::size_t chunk = 1 << 14;

    /// Σ x_i² in double: a partial sum per fixed chunk, the partials added in chunk order, so
    /// the result does not depend on the thread count (it differs from the reference's one
    /// running sum only by that reassociation).
    template <class C, class T>
    static double squared_norm(C& ctx, std::size_t n, const T* x) {
        std::vector<double> partial((n + chunk - 1) / chunk);
        parallel_chunks(n, chunk, [&](std::size_t b, std::size_t e) { partial[b / chunk] = reference_optim::squared_norm(ctx, e - b, x + b); });
        double s = 0;
        for (double p : partial) s += p;
        return s;
    }

    template <class C, class T>
    static void adamw(C& ctx, std::size_t n, const adamw_args& a, T* param, const T* grad, T* m, T* v) {
        parallel_chunks(n, chunk, [&](std::size_t b, std::size_t e) {
            reference_optim::adamw(ctx, e - b, a, param + b, grad + b, m + b, v + b);
        });
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
