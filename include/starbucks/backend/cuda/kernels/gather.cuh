// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: embedding row gather and its scatter-add backward. An index out of
// range is found on the device and reported on the host with the reference backend's message.
#pragma once

#include "../../reference/detail/rows.hpp"
#include "common.cuh"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

/// Records the smallest position whose index lies outside [0, limit) (see error_slot).
__device__ inline void report_bad_index(error_slot* slot, std::size_t position) {
    atomicMin(&slot->pending, static_cast<unsigned long long>(position));
}

/// idx[row] when it lies in [0, table_rows); otherwise reports the row and returns -1.
__device__ inline std::int64_t checked_index(const std::int64_t* idx, std::size_t row, std::size_t table_rows,
                                             error_slot* slot) {
    const std::int64_t v = idx[row];
    if (v >= 0 && static_cast<std::uint64_t>(v) < table_rows) return v;
    report_bad_index(slot, row);
    return -1;
}

template <class T>
__global__ void gather_rows_kernel(std::size_t n_idx, std::size_t cols, const T* table, std::size_t table_rows,
                                   const std::int64_t* idx, T* out, error_slot* slot) {
    STARBUCKS_GRID_LOOP(i, n_idx * cols) {
        const std::int64_t v = checked_index(idx, i / cols, table_rows, slot);
        if (v < 0) continue;
        if (out) out[i] = table[static_cast<std::size_t>(v) * cols + i % cols]; // null: indices checked only
    }
}

__global__ void scatter_add_rows_kernel(std::size_t n_idx, std::size_t cols, const float* dout, std::size_t table_rows,
                                        const std::int64_t* idx, float* dtable, error_slot* slot) {
    STARBUCKS_GRID_LOOP(i, n_idx * cols) {
        const std::int64_t v = checked_index(idx, i / cols, table_rows, slot);
        if (v < 0) continue;
        atomicAdd(dtable + static_cast<std::size_t>(v) * cols + i % cols, dout[i]);
    }
}

template <class T>
void gather_rows(device_state& s, std::size_t n_idx, std::size_t cols, const T* table, std::size_t table_rows,
                 const std::int64_t* idx, T* out) {
    if (!n_idx) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(n_idx * (cols ? cols : 1)), block_threads, s.stream(), gather_rows_kernel<T>)(
        n_idx, cols ? cols : 1, cols ? table : nullptr, table_rows, idx, cols ? out : nullptr, s.slot());
    check_launch("gather_rows");
    s.capture(idx, index_check::gather_index, table_rows);
}

template <class T>
void scatter_add_rows(device_state& s, std::size_t n_idx, std::size_t cols, const T* dout, std::size_t table_rows,
                      const std::int64_t* idx, T* dtable) {
    if (!n_idx || !cols) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(n_idx * cols), block_threads, s.stream(), scatter_add_rows_kernel)(n_idx, cols, dout, table_rows,
                                                                                      idx, dtable, s.slot());
    check_launch("scatter_add_rows");
    s.capture(idx, index_check::gather_index, table_rows);
}

template void gather_rows<float>(device_state&, std::size_t, std::size_t, const float*, std::size_t,
                                 const std::int64_t*, float*);
template void gather_rows<bf16>(device_state&, std::size_t, std::size_t, const bf16*, std::size_t,
                                const std::int64_t*, bf16*);
template void scatter_add_rows<float>(device_state&, std::size_t, std::size_t, const float*, std::size_t,
                                      const std::int64_t*, float*);

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
