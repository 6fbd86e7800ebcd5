// SPDX-License-Identifier: Apache-2.0
// Rounding float GEMM operands to bf16 for mixed-precision products (matmul_precision::bf16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "../../core/dtype.hpp"
#include "../concepts.hpp"
#include "cpu_features.hpp"
#include "parallel.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// dst[i] = bf16(src[i]) (D = bf16), or that value widened back to float (D = float): the
/// scalar definition every other path must match bit for bit.
template <class D>
void round_to_bf16_scalar(const float* src, std::size_t n, D* dst) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const bf16 r(src[i]);
        if constexpr (std::is_same_v<D, bf16>) dst[i] = r;
        else dst[i] = static_cast<float>(r);
    }
}

#if defined(STARBUCKS_X86_DISPATCH)
/// The same rounding 16 lanes at a time (GCC/Clang vector types compiled for AVX-512F: integer
/// round to nearest even on the bit pattern, NaN made quiet), so it agrees with bf16(float) on
/// every input, denormals included, which the AVX512-BF16 conversion instruction would flush.
template <class D>
__attribute__((target("avx512f"))) void round_to_bf16_avx512(const float* src, std::size_t n, D* dst) noexcept {
    using u32x16 = std::uint32_t __attribute__((vector_size(64)));
    using u16x16 = std::uint16_t __attribute__((vector_size(32)));
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        u32x16 u;
        std::memcpy(&u, src + i, sizeof u);
        const u32x16 rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        const u32x16 quiet_nan = (u >> 16) | 0x40u;
        const u32x16 is_nan = reinterpret_cast<u32x16>((u & 0x7fffffffu) > 0x7f800000u);
        const u32x16 r = (rounded & ~is_nan) | (quiet_nan & is_nan);
        if constexpr (std::is_same_v<D, bf16>) {
            const u16x16 narrow = __builtin_convertvector(r, u16x16);
            std::memcpy(static_cast<void*>(dst + i), &narrow, sizeof narrow); // bf16 is trivially copyable storage
        } else {
            const u32x16 wide = r << 16;
            std::memcpy(dst + i, &wide, sizeof wide);
        }
    }
    round_to_bf16_scalar(src + i, n - i, dst + i);
}
#endif

/// One run of n floats rounded to bf16, on the fastest path this CPU has.
template <class D>
void round_to_bf16(const float* src, std::size_t n, D* dst) noexcept {
#if defined(STARBUCKS_X86_DISPATCH)
    if (cpu().avx512f) return round_to_bf16_avx512(src, n, dst);
#endif
    round_to_bf16_scalar(src, n, dst);
}

/// A growing per-thread buffer for rounded operands (slot 0 for A, 1 for B): after warm-up a
/// training step allocates nothing here.
template <class D>
D* rounding_scratch(int slot, std::size_t n) {
    struct buffer {
        std::unique_ptr<D[]> data;
        std::size_t size = 0;
    };
    thread_local buffer buffers[2];
    buffer& b = buffers[slot];
    if (b.size < n) {
        b.data.reset(new D[n]);
        b.size = n;
    }
    return b.data.get();
}

/// Copies one stored operand (batches x rows x cols at leading dimension ld, batch stride bs)
/// into dense rounded storage, rows spread over the thread pool.
template <class D>
const D* round_operand(int slot, const float* src, std::size_t batches, std::size_t rows, std::size_t cols,
                       std::ptrdiff_t ld, std::ptrdiff_t bs) {
    D* dst = rounding_scratch<D>(slot, batches * rows * cols);
    const std::size_t total_rows = batches * rows;
    const std::size_t chunk = cols >= 16384 ? 1 : 16384 / (cols == 0 ? 1 : cols);
    parallel_chunks(total_rows, chunk, [&](std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r) {
            const float* row = src + static_cast<std::ptrdiff_t>(r / rows) * bs + static_cast<std::ptrdiff_t>(r % rows) * ld;
            round_to_bf16(row, cols, dst + r * cols);
        }
    });
    return dst;
}

/// @brief The product g with both operands rounded to bf16 (D = bf16: bf16 storage for a bf16
/// kernel; D = float: the rounded values kept in float for an f32 kernel), copied dense into
/// per-thread scratch. The result and scalars are g's own.
template <class D>
gemm_args<D, float> round_operands(const gemm_args<float, float>& g) {
    gemm_args<D, float> r;
    r.batch = g.batch;
    r.m = g.m;
    r.n = g.n;
    r.k = g.k;
    r.trans_a = g.trans_a;
    r.trans_b = g.trans_b;
    r.c = g.c;
    r.ldc = g.ldc;
    r.stride_c = g.stride_c;
    r.alpha = g.alpha;
    r.beta = g.beta;
    r.epilogue = g.epilogue; // b_is_weight is not carried: B is now per-thread scratch, not the weight
    // Stored shapes: A is (k, m) when transposed, (m, k) otherwise; likewise B.
    const std::size_t a_rows = g.trans_a ? g.k : g.m, a_cols = g.trans_a ? g.m : g.k;
    const std::size_t b_rows = g.trans_b ? g.n : g.k, b_cols = g.trans_b ? g.k : g.n;
    const std::size_t a_batches = g.batch > 1 && g.stride_a != 0 ? g.batch : 1;
    const std::size_t b_batches = g.batch > 1 && g.stride_b != 0 ? g.batch : 1;
    r.a = round_operand<D>(0, g.a, a_batches, a_rows, a_cols, g.lda, g.stride_a);
    r.lda = static_cast<std::ptrdiff_t>(a_cols);
    r.stride_a = a_batches > 1 ? static_cast<std::ptrdiff_t>(a_rows * a_cols) : 0;
    r.b = round_operand<D>(1, g.b, b_batches, b_rows, b_cols, g.ldb, g.stride_b);
    r.ldb = static_cast<std::ptrdiff_t>(b_cols);
    r.stride_b = b_batches > 1 ? static_cast<std::ptrdiff_t>(b_rows * b_cols) : 0;
    return r;
}

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
