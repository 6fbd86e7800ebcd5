// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: device helpers shared by the kernels (grid-stride loops, block
// reductions, strided offsets, bf16 bits).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "../../../core/dtype.hpp"
#include "../../../core/shape.hpp"
#include "../../concepts.hpp"
#include "state.cuh"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

/// Threads per block of the row kernels (one block per row) and element-wise kernels.
constexpr unsigned block_threads = 256;

/// Unrolls a loop of fixed trip count under nvcc, so per-thread arrays indexed by its counter
/// stay in registers (the emulator's host compiler decides for itself).
#ifdef __CUDACC__
#define STARBUCKS_UNROLL _Pragma("unroll")
#else
#define STARBUCKS_UNROLL
#endif

/// Grid-stride loop bounds: every kernel covers any n with a capped grid.
#define STARBUCKS_GRID_LOOP(i, n)                                                                              \
    for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < (n);                           \
         i += std::size_t{gridDim.x} * blockDim.x)

__device__ inline float bf16_to_float(bf16 v) { return __uint_as_float(static_cast<unsigned>(v.bits) << 16); }
/// Round to nearest even, NaN kept quiet: the same bits as bf16(float) on the host.
__device__ inline bf16 float_to_bf16(float f) {
    const unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return bf16::from_bits(static_cast<std::uint16_t>((u >> 16) | 0x0040u));
    return bf16::from_bits(static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16));
}

/// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
template <class A>
__device__ A block_sum(A v) {
    __shared__ A partial[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    __syncthreads(); // partial[] may still be read by a previous call
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    const unsigned warps = blockDim.x >> 5;
    v = lane < warps ? partial[lane] : A(0);
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/// Maximum over the block. fmaxf skips NaN as the reference's std::max does; the sum of
/// exponentials that follows carries a NaN into the row's result, as there.
__device__ inline float block_max(float v) {
    __shared__ float partial[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    const unsigned warps = blockDim.x >> 5;
    v = lane < warps ? partial[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/// Up to three operands walked over one iteration shape; offsets in elements.
struct strided_walk {
    int rank = 0;
    std::size_t dims[max_rank] = {};
    std::ptrdiff_t strides[3][max_rank] = {};
    std::size_t size = 1;

    __device__ void offsets(std::size_t linear, std::ptrdiff_t* out, int operands) const {
        for (int o = 0; o < operands; ++o) out[o] = 0;
        for (int d = rank - 1; d >= 0; --d) {
            const std::size_t i = linear % dims[d];
            linear /= dims[d];
            for (int o = 0; o < operands; ++o) out[o] += static_cast<std::ptrdiff_t>(i) * strides[o][d];
        }
    }
};

/// The walk over `dims` for the given layouts (all of that shape).
inline strided_walk make_walk(const shape& dims, const layout* a, const layout* b = nullptr, const layout* c = nullptr) {
    strided_walk w;
    w.rank = static_cast<int>(dims.rank);
    const layout* ls[3] = {a, b, c};
    for (std::size_t d = 0; d < dims.rank; ++d) {
        w.dims[d] = dims.dims[d];
        w.size *= dims.dims[d];
        for (int o = 0; o < 3; ++o) w.strides[o][d] = ls[o] ? ls[o]->strides[d] : 0;
    }
    return w;
}

/// True when the destination has stride 0 along an axis of extent > 1: several source elements
/// land on one destination element, so the kernel must add atomically.
inline bool reduces(const layout& dst) {
    for (std::size_t d = 0; d < dst.dims.rank; ++d)
        if (dst.strides[d] == 0 && dst.dims.dims[d] > 1) return true;
    return false;
}

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
