// SPDX-License-Identifier: Apache-2.0
// cpu_eigen: batched strided matrix products through Eigen maps, without copies.
#pragma once

#include <Eigen/Core>

#include "../concepts.hpp"
#include "../cpu_common/bf16_rounding.hpp"
#include "../cpu_common/gemm_epilogue.hpp"
#include "../reference/gemm.hpp"
#include "elementwise.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct eigen_gemm {
    /// bf16 operands run the reference kernel (Eigen's bfloat16 is a different type).
    template <class C>
    static void gemm(C& ctx, const gemm_args<bf16, float>& g) {
        reference_gemm::gemm(ctx, g);
    }

    /// Float products with bf16 operands multiply the rounded values with Eigen's f32 kernel
    /// (Eigen has no bf16 GEMM of its own): the numbers of a bf16 unit, at f32 speed.
    template <class C, class T>
    static void gemm(C& ctx, const gemm_args<T>& g) {
        if constexpr (std::is_same_v<T, float>)
            if (g.bf16_operands) return gemm(ctx, round_operands<float>(g));
        using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        using stride = Eigen::OuterStride<>;
        using const_map = Eigen::Map<const matrix, Eigen::Unaligned, stride>;
        using map = Eigen::Map<matrix, Eigen::Unaligned, stride>;
        const auto m = static_cast<Eigen::Index>(g.m), n = static_cast<Eigen::Index>(g.n), k = static_cast<Eigen::Index>(g.k);
        for (std::size_t bt = 0; bt < g.batch; ++bt) {
            const auto off = static_cast<std::ptrdiff_t>(bt);
            // A stored as (k, m) when transposed, (m, k) otherwise; likewise B.
            const_map a(g.a + off * g.stride_a, g.trans_a ? k : m, g.trans_a ? m : k, stride(g.lda));
            const_map b(g.b + off * g.stride_b, g.trans_b ? n : k, g.trans_b ? k : n, stride(g.ldb));
            map c(g.c + off * g.stride_c, m, n, stride(g.ldc));
            // beta == 0 must overwrite (c may hold NaN); otherwise scale and accumulate.
            if (g.beta == T(0)) c.setZero();
            else if (g.beta != T(1)) c *= g.beta;
            if (!g.trans_a && !g.trans_b) c.noalias() += g.alpha * (a * b);
            else if (!g.trans_a && g.trans_b) c.noalias() += g.alpha * (a * b.transpose());
            else if (g.trans_a && !g.trans_b) c.noalias() += g.alpha * (a.transpose() * b);
            else c.noalias() += g.alpha * (a.transpose() * b.transpose());
        }
        // Eigen has no fused epilogue: one pass over C, each row activated while in cache.
        apply_gemm_epilogue(g, [&](unary_op op, T* row, std::size_t n) { eigen_elementwise::unary(ctx, op, n, row, row); });
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
