// SPDX-License-Identifier: Apache-2.0
// The epilogue of a GEMM (bias, residual, activation) as one pass over C, for host kernels that
// cannot fuse it into the product itself.
#pragma once

#include <algorithm>

#include "../concepts.hpp"
#include "parallel.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// @brief Applies g.epilogue to the C that g's product just wrote: rows in parallel, each row
/// getting its bias and residual, then `activate(op, row, n)` (the backend's own vectorised
/// unary function) while it is still in cache.
template <class T, class TC, class Activate>
void apply_gemm_epilogue(const gemm_args<T, TC>& g, Activate&& activate) {
    const auto& e = g.epilogue;
    if (e.empty() || g.m == 0 || g.n == 0) return;
    const std::size_t rows_per_chunk = std::max<std::size_t>(1, (std::size_t{1} << 14) / g.n);
    parallel_chunks(g.batch * g.m, rows_per_chunk, [&](std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r) {
            const std::ptrdiff_t offset = static_cast<std::ptrdiff_t>(r / g.m) * g.stride_c + static_cast<std::ptrdiff_t>(r % g.m) * g.ldc;
            TC* c = g.c + offset;
            if (e.bias)
                for (std::size_t j = 0; j < g.n; ++j) c[j] += e.bias[j];
            if (e.residual)
                for (std::size_t j = 0; j < g.n; ++j) c[j] += e.residual[offset + static_cast<std::ptrdiff_t>(j)];
            if (e.activation == gemm_activation::gelu) activate(unary_op::gelu, c, g.n);
        }
    });
}

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
