// SPDX-License-Identifier: Apache-2.0
// parallel_chunks: the one way our own CPU loops use the shared OpenMP pool.
#pragma once

#include <cstddef>

#include "../../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// @brief Calls f(begin, end) over [0, n) in chunks of `chunk` items, the chunks spread over
/// the OpenMP pool. Chunk boundaries depend only on n and `chunk`, never on the thread count,
/// so a kernel that reduces per chunk and then sums chunks in order is deterministic.
template <class F>
void parallel_chunks(std::size_t n, std::size_t chunk, F&& f) {
    if (chunk == 0) chunk = 1;
    const std::ptrdiff_t chunks = static_cast<std::ptrdiff_t>((n + chunk - 1) / chunk);
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (chunks > 1)
#endif
    for (std::ptrdiff_t c = 0; c < chunks; ++c) {
        const std::size_t begin = static_cast<std::size_t>(c) * chunk;
        f(begin, begin + chunk < n ? begin + chunk : n);
    }
}

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
