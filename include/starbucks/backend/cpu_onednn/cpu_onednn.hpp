// SPDX-License-Identifier: Apache-2.0
// backend::cpu_onednn: host memory, GEMM through cached oneDNN matmul primitives (oneDNN 2.x/3.x).
#pragma once

#ifndef STARBUCKS_WITH_ONEDNN
#error "starbucks/backend/cpu_onednn/cpu_onednn.hpp needs oneDNN: enable STARBUCKS_WITH_ONEDNN and link starbucks::cpu_onednn"
#endif

#include <array>
#include <string_view>

#include "../reference/reference.hpp"
#include "../threads.hpp"
#include "../cpu_common/elementwise.hpp"
#include "../cpu_common/elementwise_kernels.hpp"
#include "../cpu_common/strided.hpp"
#include "../cpu_common/rows.hpp"
#include "context.hpp"
#include "eltwise.hpp"
#include "softmax.hpp"
#include "gemm.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend {

/// @brief The oneDNN backend (the default for training): host memory, f32 GEMM on oneDNN's
/// JIT kernels with a primitive cache, softmax on oneDNN's softmax primitive, log-softmax /
/// layer norm / L2 norm on the row-parallel kernels of cpu_common, GELU on oneDNN's eltwise
/// primitives and the other element-wise
/// functions on the reference scalar code run in parallel chunks, strided copies / accumulation / broadcast binary ops, dropout and AdamW on cpu_common's
/// parallel kernels (bitwise the reference's results). The other ops are, for now, the reference kernels, each announced in
/// `reference_fallbacks`.
struct cpu_onednn : detail::cpu_memory,
                    detail::onednn_gemm,
                    detail::onednn_eltwise,
                    detail::cpu_binary,
                    detail::onednn_softmax,
                    detail::reference_gather,
                    detail::reference_loss,
                    detail::cpu_random,
                    detail::cpu_optim {
    struct context {
        detail::onednn_context onednn;
    };
    /// The process-wide context: one engine, one stream, one primitive cache.
    static context& default_context() {
        static context c;
        return c;
    }
    static constexpr bool host_accessible = true;
    static constexpr const char* name = "cpu_onednn";

    /// Ops that run the reference kernels on this backend (f64 GEMM included: oneDNN has none).
    static constexpr std::array<std::string_view, 13> reference_fallbacks{
        "allocate", "deallocate", "fill", "convert", "gather_rows",
        "scatter_add_rows", "masked_mean", "masked_mean_backward", "cross_entropy", "cross_entropy_backward",
        "kl_div", "kl_div_backward", "fill_uniform / fill_normal"};
};

static_assert(backend_policy<cpu_onednn>);
static_assert(has_gemm<cpu_onednn, bf16, float> && has_gemm<cpu_onednn, float>);

} // namespace backend
STARBUCKS_NAMESPACE_END
