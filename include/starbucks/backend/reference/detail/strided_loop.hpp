// SPDX-License-Identifier: Apache-2.0
// Private to backend/reference: walks N-d index space over up to three stride sets.
// Include <starbucks/backend/reference/reference.hpp> instead.
#pragma once

#include <array>
#include <cstddef>

#include "../../../core/shape.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// Calls f(offset_0, ..., offset_{N-1}) for every index of `dims` in row-major order, where
/// offset_j is the dot product of the index with strides[j]. Sequential on purpose: the
/// reference backend's reductions must be reproducible to the bit.
template <std::size_t N, class F>
void strided_loop(const shape& dims, const std::array<const std::array<std::ptrdiff_t, max_rank>*, N>& strides, F&& f) {
    const std::size_t total = dims.size();
    if (total == 0) return;
    std::array<std::size_t, max_rank> idx{};
    std::array<std::ptrdiff_t, N> off{};
    for (std::size_t count = 0; count < total; ++count) {
        [&]<std::size_t... J>(std::index_sequence<J...>) { f(off[J]...); }(std::make_index_sequence<N>{});
        // Odometer increment from the last axis.
        for (std::size_t ax = dims.rank; ax-- > 0;) {
            ++idx[ax];
            for (std::size_t j = 0; j < N; ++j) off[j] += (*strides[j])[ax];
            if (idx[ax] < dims.dims[ax]) break;
            for (std::size_t j = 0; j < N; ++j) off[j] -= (*strides[j])[ax] * static_cast<std::ptrdiff_t>(idx[ax]);
            idx[ax] = 0;
        }
    }
}

/// Accumulation type of the reference kernels: double, so the oracle is more precise than
/// what it checks.
template <class T>
using acc_t = double;

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
