// SPDX-License-Identifier: Apache-2.0
// backend::cpu_eigen: host memory, GEMM and element-wise math through Eigen 3.4.
#pragma once

#ifndef STARBUCKS_WITH_EIGEN
#error "starbucks/backend/cpu_eigen/cpu_eigen.hpp needs Eigen: enable STARBUCKS_WITH_EIGEN and link starbucks::cpu_eigen"
#endif

#include <array>
#include <string_view>

#include "../reference/reference.hpp"
#include "../threads.hpp"
#include "../cpu_common/elementwise_kernels.hpp"
#include "../cpu_common/rows.hpp"
#include "../cpu_common/strided.hpp"
#include "elementwise.hpp"
#include "gemm.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend {

/// @brief The Eigen backend: host memory shared with the reference backend.
///
/// GEMM runs on Eigen maps of the operands (strides and transposes without copies),
/// element-wise functions on vectorised Eigen arrays, and softmax / layer norm / L2 norm on the
/// row-parallel kernels of cpu_common, strided copies / accumulation / broadcast binary ops,
/// dropout and AdamW on cpu_common's parallel kernels (bitwise the reference's results). Every
/// other op is, for now, the reference kernel: a host-memory backend may fall back op by op, and
/// `reference_fallbacks` lists each
/// one so the test suite counts them and nothing falls back unannounced.
struct cpu_eigen : detail::stateless,
                   detail::cpu_memory,
                   detail::eigen_gemm,
                   detail::eigen_elementwise,
                   detail::cpu_binary,
                   detail::cpu_rows,
                   detail::reference_gather,
                   detail::reference_loss,
                   detail::cpu_random,
                   detail::cpu_optim {
    static constexpr bool host_accessible = true;
    static constexpr const char* name = "cpu_eigen";

    /// Ops that run the reference kernels on this backend.
    static constexpr std::array<std::string_view, 14> reference_fallbacks{
        "gemm (bf16)", "allocate", "deallocate", "fill", "convert", "gather_rows",
        "scatter_add_rows", "masked_mean", "masked_mean_backward", "cross_entropy", "cross_entropy_backward",
        "kl_div", "kl_div_backward", "fill_uniform / fill_normal"};
};

static_assert(backend_policy<cpu_eigen>);
static_assert(has_gemm<cpu_eigen, bf16, float> && has_gemm<cpu_eigen, float> && has_gemm<cpu_eigen, double>);

} // namespace backend
STARBUCKS_NAMESPACE_END
