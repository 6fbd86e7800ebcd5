// SPDX-License-Identifier: Apache-2.0
// Element-wise unary functions for the fast host backends: the reference scalar code, run in
// fixed chunks over the OpenMP pool (element-wise, so any thread count gives identical bits).
#pragma once

#include "../reference/elementwise.hpp"
#include "parallel.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct cpu_unary {
    static constexpr std::size_t chunk = 1 << 14;

    template <class C, class T>
    static void unary(C& ctx, unary_op op, std::size_t n, const T* x, T* y, T param = T(1)) {
        parallel_chunks(n, chunk, [&](std::size_t b, std::size_t e) { reference_unary::unary(ctx, op, e - b, x + b, y + b, param); });
    }

    template <class C, class T>
    static void unary_backward(C& ctx, unary_op op, std::size_t n, const T* x, const T* y, const T* dy, T* dx,
                               T param = T(1)) {
        parallel_chunks(n, chunk, [&](std::size_t b, std::size_t e) {
            reference_unary::unary_backward(ctx, op, e - b, x + b, y + b, dy + b, dx + b, param);
        });
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
