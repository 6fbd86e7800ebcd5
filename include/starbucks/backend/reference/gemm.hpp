// SPDX-License-Identifier: Apache-2.0
// Reference backend: batched strided matrix product with optional transposes.
#pragma once

#include <type_traits>

#include "../../core/dtype.hpp"
#include "../concepts.hpp"
#include "detail/strided_loop.hpp"
#include "elementwise.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct reference_gemm {
    /// bf16 is storage: it multiplies as the float it stands for; a float operand of a
    /// bf16-operand product first rounds to bf16.
    template <class T>
    static double widen(T v, bool round_to_bf16) {
        if constexpr (std::is_same_v<T, bf16>) return static_cast<float>(v);
        else if constexpr (std::is_same_v<T, float>) return round_to_bf16 ? static_cast<float>(bf16(v)) : v;
        else return v;
    }

    template <class C, class T, class TC>
    static void gemm(C&, const gemm_args<T, TC>& g) {
        for (std::size_t bt = 0; bt < g.batch; ++bt) {
            const T* a = g.a + static_cast<std::ptrdiff_t>(bt) * g.stride_a;
            const T* b = g.b + static_cast<std::ptrdiff_t>(bt) * g.stride_b;
            TC* c = g.c + static_cast<std::ptrdiff_t>(bt) * g.stride_c;
            const TC* residual = g.epilogue.residual ? g.epilogue.residual + static_cast<std::ptrdiff_t>(bt) * g.stride_c : nullptr;
            for (std::size_t i = 0; i < g.m; ++i) {
                for (std::size_t j = 0; j < g.n; ++j) {
                    acc_t<TC> s = 0;
                    for (std::size_t p = 0; p < g.k; ++p) {
                        const T av = g.trans_a ? a[p * g.lda + i] : a[i * g.lda + p];
                        const T bv = g.trans_b ? b[j * g.ldb + p] : b[p * g.ldb + j];
                        s += widen(av, g.bf16_operands) * widen(bv, g.bf16_operands);
                    }
                    TC& out = c[i * g.ldc + j];
                    // beta == 0 must ignore whatever (possibly NaN) memory c held.
                    TC v = g.beta == TC(0) ? TC(g.alpha * TC(s)) : TC(g.alpha * TC(s) + g.beta * out);
                    const auto& e = g.epilogue;
                    if (e.bias) v += e.bias[j];
                    if (residual) v += residual[i * g.ldc + j];
                    if (e.activation == gemm_activation::gelu) v = reference_unary::apply(unary_op::gelu, v, TC(1));
                    out = v;
                }
            }
        }
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
