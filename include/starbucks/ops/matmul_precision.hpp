// SPDX-License-Identifier: Apache-2.0
// matmul_precision: whether float matrix products multiply bf16-rounded operands (mixed precision).
#pragma once

#include "detail/thread_setting.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// How float matrix products are computed. `bf16` rounds both operands to bfloat16 (nearest,
/// ties to even) and accumulates in f32, as mixed-precision training does: weights, gradients,
/// optimizer state and every element-wise op stay f32 (the master copy); only the GEMMs, the
/// bulk of the work, run on bf16 units where the CPU has them (AVX512-BF16 / AMX). Every
/// backend gives the same numbers up to f32 summation order; where a backend has no fast bf16
/// kernel it multiplies the rounded values in f32. The fused attention (ops/attention.hpp)
/// keeps its per-head products in f32 under either precision: they are a few percent of the
/// FLOPs, and rounding their strided operands per call costs more than bf16 saves.
enum class matmul_precision { f32, bf16 };

/// The precision of float matrix products on this thread (f32 unless a scope says otherwise).
inline matmul_precision current_matmul_precision() noexcept {
    return detail::thread_setting<matmul_precision, matmul_precision::f32>::current();
}

/// @brief Sets the matmul precision of this thread for its lifetime, then restores the previous
/// one (scopes nest). Set it around forward and backward alike: the backward's products then
/// run in the same precision as the forward's.
using matmul_precision_scope = detail::thread_setting<matmul_precision, matmul_precision::f32>::scope;

STARBUCKS_NAMESPACE_END
