// SPDX-License-Identifier: Apache-2.0
// backend::reference: plain loops on host memory for float and double; the test oracle.
#pragma once

#include "../concepts.hpp"
#include "elementwise.hpp"
#include "gather.hpp"
#include "gemm.hpp"
#include "loss.hpp"
#include "memory.hpp"
#include "norm.hpp"
#include "optim.hpp"
#include "random.hpp"
#include "softmax.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend {

using detail::adamw_args;

/// @brief The reference backend: obviously correct beats fast.
///
/// Every op a BERT encoder and the Starbucks losses need, as sequential loops that accumulate
/// in double; results are reproducible to the bit. Faster backends are tested against it, and
/// host-memory backends may fall back to it op by op.
struct reference : detail::stateless,
                   detail::reference_memory,
                   detail::reference_gemm,
                   detail::reference_unary,
                   detail::reference_binary,
                   detail::reference_softmax,
                   detail::reference_norm,
                   detail::reference_gather,
                   detail::reference_loss,
                   detail::reference_random,
                   detail::reference_optim {
    static constexpr bool host_accessible = true;
    static constexpr const char* name = "reference";
};

static_assert(backend_policy<reference>);
static_assert(has_gemm<reference, bf16, float> && has_gemm<reference, float> && has_gemm<reference, double>);

} // namespace backend
STARBUCKS_NAMESPACE_END
