// SPDX-License-Identifier: Apache-2.0
// Dropout and the AdamW update for the fast host backends: the reference kernels run in fixed
// chunks over the OpenMP pool (AdamW 8 lanes wide where the CPU has AVX-512). Both are
// element-wise (Philox draws are counter-based), so any thread count gives the reference's bits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../reference/optim.hpp"
#include "../reference/random.hpp"
#include "cpu_features.hpp"
#include "parallel.hpp"

#if defined(STARBUCKS_X86_DISPATCH)
#include <immintrin.h>
#endif

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct cpu_random : reference_random {
    static constexpr std::size_t chunk = 1 << 14;

    template <class C, class T>
    static void dropout(C&, std::size_t n, T p, rng_stream rng, const T* x, T* y, T* mask) {
        parallel_chunks(n, chunk, [&](std::size_t b, std::size_t e) {
#if defined(STARBUCKS_X86_DISPATCH)
            if constexpr (std::is_same_v<T, float>) {
                if (cpu().avx512f) {
                    // To a whole Philox block: element i draws word rng.offset + i.
                    const std::size_t head = std::min<std::size_t>(e, (rng.offset + b + 3) / 4 * 4 - rng.offset);
                    dropout_range(b, head, p, rng, x, y, mask);
                    const std::size_t groups = (e - head) / 32;
                    dropout_avx512(head, groups, p, rng, x, y, mask);
                    b = head + groups * 32; // the tail below
                }
            }
#endif
            dropout_range(b, e, p, rng, x, y, mask);
        });
    }

#if defined(STARBUCKS_X86_DISPATCH)
    /// @brief Dropout of `groups` runs of 32 elements from `begin` (rng.offset + begin a multiple
    /// of 4): the reference's Philox4x32-10 blocks computed 8 at a time (one 64-bit lane per
    /// block, the 32x32->64 products on AVX-512F), their words put in element order by two
    /// shuffles, then the reference's uniform, comparison and product 16 lanes wide, so the same
    /// bits. (A scalar tail per element made this kernel 3x slower; fused attention draws every
    /// mask twice.)
    __attribute__((target("avx512f"))) static void dropout_avx512(std::size_t begin, std::size_t groups, float p, rng_stream rng,
                                                                   const float* x, float* y, float* mask) noexcept {
        using u64x8 = std::uint64_t __attribute__((vector_size(64)));
        using u32x8 = std::uint32_t __attribute__((vector_size(32)));
        using u32x16 = std::uint32_t __attribute__((vector_size(64)));
        using i32x16 = std::int32_t __attribute__((vector_size(64)));
        using f32x16 = float __attribute__((vector_size(64)));
        const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
        const std::uint64_t low = 0xffffffffu;
        const u64x8 lanes = {0, 1, 2, 3, 4, 5, 6, 7};
        const f32x16 threshold = f32x16{} + p;
        const i32x16 scale_bits = reinterpret_cast<i32x16>(f32x16{} + keep_scale);
        for (std::size_t g = 0; g < groups; ++g) {
            const std::size_t first = begin + 32 * g;
            const u64x8 block = static_cast<std::uint64_t>((rng.offset + first) >> 2) + lanes;
            u64x8 c0 = block & low, c1 = block >> 32;
            u64x8 c2 = (u64x8{} + rng.stream) & low, c3 = (u64x8{} + rng.stream) >> 32;
            std::uint32_t k0 = static_cast<std::uint32_t>(rng.seed), k1 = static_cast<std::uint32_t>(rng.seed >> 32);
            for (int round = 0; round < 10; ++round) {
                if (round > 0) {
                    k0 += 0x9E3779B9u;
                    k1 += 0xBB67AE85u;
                }
                const u64x8 p0 = reinterpret_cast<u64x8>(_mm512_maskz_mul_epu32(static_cast<__mmask8>(0xff), reinterpret_cast<__m512i>(c0),
                                                                               _mm512_set1_epi64(0xD2511F53)));
                const u64x8 p1 = reinterpret_cast<u64x8>(_mm512_maskz_mul_epu32(static_cast<__mmask8>(0xff), reinterpret_cast<__m512i>(c2),
                                                                               _mm512_set1_epi64(0xCD9E8D57)));
                const u64x8 next0 = (p1 >> 32) ^ c1 ^ k0, next2 = (p0 >> 32) ^ c3 ^ k1;
                c1 = p1 & low;
                c3 = p0 & low;
                c0 = next0;
                c2 = next2;
            }
            // Word l of block j is element 4j + l: interleave words 0/1 and 2/3 of each block,
            // then take blocks 0-3 and 4-7.
            const u32x8 w0 = __builtin_convertvector(c0, u32x8), w1 = __builtin_convertvector(c1, u32x8);
            const u32x8 w2 = __builtin_convertvector(c2, u32x8), w3 = __builtin_convertvector(c3, u32x8);
            const u32x16 a = __builtin_shufflevector(w0, w1, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
            const u32x16 b = __builtin_shufflevector(w2, w3, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
            const u32x16 halves[2] = {
                __builtin_shufflevector(a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23),
                __builtin_shufflevector(a, b, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31)};
            for (int h = 0; h < 2; ++h) {
                const std::size_t i = first + 16 * static_cast<std::size_t>(h);
                // rng_stream::to_uniform: the top 24 bits, exact in float.
                const f32x16 u = __builtin_convertvector(reinterpret_cast<i32x16>(halves[h] >> 8), f32x16) * (1.0f / 16777216.0f);
                const f32x16 m = reinterpret_cast<f32x16>((u >= threshold) & scale_bits);
                f32x16 xv;
                std::memcpy(&xv, x + i, sizeof xv);
                const f32x16 yv = xv * m;
                std::memcpy(mask + i, &m, sizeof m);
                std::memcpy(y + i, &yv, sizeof yv);
            }
        }
    }
#endif
};

struct cpu_optim {
    static constexpr std::size_t chunk = 1 << 14;

    /// Σ x_i² in double: a partial sum per fixed chunk, the partials added in chunk order, so
    /// the result does not depend on the thread count (it differs from the reference's one
    /// running sum only by that reassociation, and within a chunk by 16 running lanes where the
    /// CPU has AVX-512).
    template <class C, class T>
    static double squared_norm(C& ctx, std::size_t n, const T* x) {
        std::vector<double> partial((n + chunk - 1) / chunk);
        parallel_chunks(n, chunk, [&](std::size_t b, std::size_t e) {
#if defined(STARBUCKS_X86_DISPATCH)
            if constexpr (std::is_same_v<T, float>) {
                if (cpu().avx512f) {
                    partial[b / chunk] = squared_norm_avx512(e - b, x + b);
                    return;
                }
            }
#endif
            partial[b / chunk] = reference_optim::squared_norm(ctx, e - b, x + b);
        });
        double s = 0;
        for (double p : partial) s += p;
        return s;
    }

    template <class C, class T>
    static void adamw(C& ctx, std::size_t n, const adamw_args& a, T* param, const T* grad, T* m, T* v) {
        parallel_chunks(n, chunk, [&](std::size_t b, std::size_t e) {
#if defined(STARBUCKS_X86_DISPATCH)
            if constexpr (std::is_same_v<T, float>) {
                if (cpu().avx512f) {
                    const std::size_t vectors = (e - b) / 8 * 8;
                    adamw_avx512(vectors, a, param + b, grad + b, m + b, v + b);
                    b += vectors; // the tail below
                }
            }
#endif
            reference_optim::adamw(ctx, e - b, a, param + b, grad + b, m + b, v + b);
        });
    }

#if defined(STARBUCKS_X86_DISPATCH)
    /// Σ x_i² in double over 16 running lanes (two vectors, so the adds overlap), the lanes and
    /// then the tail added in a fixed order: one chunk of the gradient norm without the latency
    /// of a single running sum.
    STARBUCKS_AVX512_NO_CONTRACT static double squared_norm_avx512(std::size_t n, const float* x) noexcept {
        using f32x8 = float __attribute__((vector_size(32)));
        using f64x8 = double __attribute__((vector_size(64)));
        f64x8 acc[2] = {};
        std::size_t i = 0;
        for (; i + 16 <= n; i += 16)
            for (int h = 0; h < 2; ++h) {
                f32x8 f;
                std::memcpy(&f, x + i + 8 * static_cast<std::size_t>(h), sizeof f);
                const f64x8 d = __builtin_convertvector(f, f64x8);
                acc[h] += d * d;
            }
        double s = 0;
        for (int h = 0; h < 2; ++h)
            for (int lane = 0; lane < 8; ++lane) s += acc[h][lane];
        for (; i < n; ++i) s += double(x[i]) * double(x[i]);
        return s;
    }

    /// @brief The reference update on n (a multiple of 8) floats, 8 lanes of doubles at a time:
    /// the same double operations in the same order, so the same bits, without the scalar square
    /// root and division per element that made the update compute-bound (8.6 GB/s on 2 threads).
    /// No FMA contraction (the reference has none at baseline x86-64; AVX-512F brings FMA along):
    /// GCC gets fp-contract=off for this function, Clang a pragma.
    STARBUCKS_AVX512_NO_CONTRACT static void adamw_avx512(std::size_t n, const adamw_args& a, float* param, const float* grad,
                                                                 float* m, float* v) noexcept {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
        using f32x8 = float __attribute__((vector_size(32)));
        using f64x8 = double __attribute__((vector_size(64)));
        const double bc1 = 1 - std::pow(a.beta1, double(a.step));
        const double bc2 = 1 - std::pow(a.beta2, double(a.step));
        const double decay = 1 - a.lr * a.weight_decay, keep_m = 1 - a.beta1, keep_v = 1 - a.beta2;
        // No lambdas for the loads and stores: they would not inherit the target attribute.
        f32x8 f[4];
        for (std::size_t i = 0; i < n; i += 8) {
            std::memcpy(&f[0], grad + i, sizeof(f32x8));
            std::memcpy(&f[1], param + i, sizeof(f32x8));
            std::memcpy(&f[2], m + i, sizeof(f32x8));
            std::memcpy(&f[3], v + i, sizeof(f32x8));
            const f64x8 g = __builtin_convertvector(f[0], f64x8);
            f64x8 p = __builtin_convertvector(f[1], f64x8) * decay;
            const f64x8 mi = a.beta1 * __builtin_convertvector(f[2], f64x8) + keep_m * g;
            const f64x8 vi = a.beta2 * __builtin_convertvector(f[3], f64x8) + keep_v * g * g;
            const f64x8 root = reinterpret_cast<f64x8>(_mm512_maskz_sqrt_pd(static_cast<__mmask8>(0xff), reinterpret_cast<__m512d>(vi / bc2)));
            p -= a.lr * (mi / bc1) / (root + a.eps);
            f[0] = __builtin_convertvector(mi, f32x8);
            f[1] = __builtin_convertvector(vi, f32x8);
            f[2] = __builtin_convertvector(p, f32x8);
            std::memcpy(m + i, &f[0], sizeof(f32x8));
            std::memcpy(v + i, &f[1], sizeof(f32x8));
            std::memcpy(param + i, &f[2], sizeof(f32x8));
        }
    }
#endif
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
