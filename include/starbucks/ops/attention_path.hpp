// SPDX-License-Identifier: Apache-2.0
// attention_path: whether multi-head attention runs as the backend's fused kernel, where it has
// one, or composed from batched GEMMs and a softmax (for comparison and benchmarks).
#pragma once

#include "detail/thread_setting.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// How ops/attention.hpp computes attention. `fused`: the backend's fused kernel
/// (backend::has_fused_attention) when it has one that supports the sizes, else composed;
/// `composed`: always GEMMs, softmax and dropout over (n, H, T, T) score tiles. Both give the
/// same function, up to f32 summation order; dropout draws the same mask either way.
enum class attention_path { fused, composed };

/// The attention path of this thread (fused unless a scope says otherwise).
inline attention_path current_attention_path() noexcept { return detail::thread_setting<attention_path, attention_path::fused>::current(); }

/// @brief Sets the attention path of this thread for its lifetime, then restores the previous
/// one (scopes nest). An autograd attention keeps the path its forward took for its backward.
using attention_path_scope = detail::thread_setting<attention_path, attention_path::fused>::scope;

STARBUCKS_NAMESPACE_END
