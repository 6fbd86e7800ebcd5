// SPDX-License-Identifier: Apache-2.0
// cpu_features: the instruction sets our own host kernels choose a path by, checked once.
#pragma once

#include "../../config.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
/// x86 with GCC/Clang: kernels may add AVX-512 versions (target attributes), chosen at run time.
#define STARBUCKS_X86_DISPATCH 1
/// An AVX-512F function that must give the bits of the scalar reference: no FMA contraction
/// (AVX-512F brings FMA along). GCC takes it as an attribute; Clang functions add
/// `#pragma clang fp contract(off)` in their body.
#if defined(__clang__)
#define STARBUCKS_AVX512_NO_CONTRACT __attribute__((target("avx512f")))
#else
#define STARBUCKS_AVX512_NO_CONTRACT __attribute__((target("avx512f"), optimize("fp-contract=off")))
#endif
#endif

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// What the running CPU offers: AVX-512F for our vector kernels (bf16 rounding, AdamW),
/// AVX512-BF16 for oneDNN's native bf16 GEMM. Our builds target baseline x86-64, so these paths
/// are compiled with target attributes and taken only where the CPU has them.
struct cpu_features {
    bool avx512f = false, avx512_bf16 = false;
};

inline const cpu_features& cpu() noexcept {
    static const cpu_features features = [] {
        cpu_features f;
#if defined(STARBUCKS_X86_DISPATCH)
        f.avx512f = __builtin_cpu_supports("avx512f");
        f.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
#endif
        return f;
    }();
    return features;
}

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
