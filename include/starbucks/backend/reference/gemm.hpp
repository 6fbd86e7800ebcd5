// SPDX-License-Identifier: Apache-2.0
// Reference backend: batched strided matrix product with optional transposes.
#pragma once

#include "../concepts.hpp"
#include "detail/strided_loop.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct reference_gemm {
    template <class C, class T>
    static void gemm(C&, const gemm_args<T>& g) {
        for (std::size_t bt = 0; bt < g.batch; ++bt) {
            const T* a = g.a + static_cast<std::ptrdiff_t>(bt) * g.stride_a;
            const T* b = g.b + static_cast<std::ptrdiff_t>(bt) * g.stride_b;
            T* c = g.c + static_cast<std::ptrdiff_t>(bt) * g.stride_c;
            for (std::size_t i = 0; i < g.m; ++i) {
                for (std::size_t j = 0; j < g.n; ++j) {
                    acc_t<T> s = 0;
                    for (std::size_t p = 0; p < g.k; ++p) {
                        const T av = g.trans_a ? a[p * g.lda + i] : a[i * g.lda + p];
                        const T bv = g.trans_b ? b[j * g.ldb + p] : b[p * g.ldb + j];
                        s += acc_t<T>(av) * acc_t<T>(bv);
                    }
                    T& out = c[i * g.ldc + j];
                    // beta == 0 must ignore whatever (possibly NaN) memory c held.
                    out = g.beta == T(0) ? T(g.alpha * T(s)) : T(g.alpha * T(s) + g.beta * out);
                }
            }
        }
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
