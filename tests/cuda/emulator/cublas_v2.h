// SPDX-License-Identifier: Apache-2.0
// Stands in for <cublas_v2.h> on the emulated device (see blas.hpp): a handle, its stream and
// math mode, and the strided-batched GEMM with cuBLAS's argument checks.
#pragma once

#include "blas.hpp"

struct cublasContext {
    cudaStream_t stream = nullptr;
    cublasMath_t math = CUBLAS_DEFAULT_MATH;
};
using cublasHandle_t = cublasContext*;

inline cublasStatus_t cublasCreate(cublasHandle_t* h) {
    *h = new cublasContext{};
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->math = m;
    return CUBLAS_STATUS_SUCCESS;
}

/// cuBLAS: lda >= max(1, op(A) = A ? m : k), ldb >= max(1, op(B) = B ? k : n), ldc >= max(1, m);
/// A and B one type, C f32 under CUBLAS_COMPUTE_32F; alpha and beta are host floats.
inline cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                                                 int n, int k, const void* alpha, const void* a, cudaDataType at,
                                                 int lda, long long stride_a, const void* b, cudaDataType bt, int ldb,
                                                 long long stride_b, const void* beta, void* c, cudaDataType ct,
                                                 int ldc, long long stride_c, int batch, cublasComputeType_t compute,
                                                 cublasGemmAlgo_t) {
    using namespace starbucks_cuda_emulator;
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    auto at_least = [](int ld, int rows) { return ld >= (rows > 1 ? rows : 1); };
    if (m < 0 || n < 0 || k < 0 || batch < 0 || !at_least(lda, ta == CUBLAS_OP_N ? m : k) ||
        !at_least(ldb, tb == CUBLAS_OP_N ? k : n) || !at_least(ldc, m))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (compute != CUBLAS_COMPUTE_32F || at != bt || !gemm_type(at) || ct != CUDA_R_32F)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
    const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
    column_major_gemm(ta == CUBLAS_OP_T, tb == CUBLAS_OP_T, m, n, k, batch, al, matrix_view{at, a, lda, stride_a},
                      matrix_view{bt, b, ldb, stride_b}, be, static_cast<const float*>(c), ldc, stride_c,
                      static_cast<float*>(c), ldc, stride_c, nullptr);
    return CUBLAS_STATUS_SUCCESS;
}
