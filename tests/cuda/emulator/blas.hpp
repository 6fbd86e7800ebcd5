// SPDX-License-Identifier: Apache-2.0
// The cuBLAS and cuBLASLt calls backend::cuda makes, for the emulated device: column-major
// products with the libraries' documented argument checks (leading dimensions, matching shapes
// and types, batch counts), so a call that would be refused on a GPU is refused here.
// Products accumulate in f32 over k in order; bf16 operands are widened exactly.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda_runtime.h"

enum cublasStatus_t {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
};
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cublasComputeType_t { CUBLAS_COMPUTE_32F = 68 };
enum cublasMath_t { CUBLAS_DEFAULT_MATH = 0, CUBLAS_PEDANTIC_MATH = 2 };
enum cublasGemmAlgo_t { CUBLAS_GEMM_DEFAULT = -1 };

inline const char* cublasGetStatusName(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}
inline const char* cublasGetStatusString(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    default: return "emulated cuBLAS status";
    }
}

namespace starbucks_cuda_emulator {

/// One column-major operand: element (i, j) of matrix b at base + b*stride + i + j*ld.
struct matrix_view {
    cudaDataType type;
    const void* base;
    std::int64_t ld, stride;
    float at(std::int64_t batch, std::int64_t i, std::int64_t j) const {
        const std::int64_t k = batch * stride + i + j * ld;
        if (type == CUDA_R_32F) return static_cast<const float*>(base)[k];
        std::uint16_t h;
        std::memcpy(&h, static_cast<const char*>(base) + 2 * k, 2);
        return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
    }
};

/// D = alpha op(A) op(B) + beta C (C not read when beta is 0) + bias[i], over a batch;
/// op(A) is m x k, op(B) k x n, C and D m x n.
inline void column_major_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t batch,
                              float alpha, const matrix_view& a, const matrix_view& b, float beta, const float* c,
                              std::int64_t ldc, std::int64_t stride_c, float* d, std::int64_t ldd,
                              std::int64_t stride_d, const float* bias) {
    device_memory::scope open;
    std::vector<float> column(static_cast<std::size_t>(m));
    for (std::int64_t bt = 0; bt < batch; ++bt)
        for (std::int64_t j = 0; j < n; ++j) {
            for (std::int64_t i = 0; i < m; ++i) {
                float acc = 0.0f;
                for (std::int64_t p = 0; p < k; ++p)
                    acc += (ta ? a.at(bt, p, i) : a.at(bt, i, p)) * (tb ? b.at(bt, j, p) : b.at(bt, p, j));
                float v = alpha * acc;
                if (beta != 0.0f) v += beta * c[bt * stride_c + i + j * ldc];
                if (bias) v += bias[i];
                column[static_cast<std::size_t>(i)] = v;
            }
            // Written after the column is computed: D may be C.
            for (std::int64_t i = 0; i < m; ++i) d[bt * stride_d + i + j * ldd] = column[static_cast<std::size_t>(i)];
        }
}

inline bool gemm_type(cudaDataType t) { return t == CUDA_R_32F || t == CUDA_R_16BF; }

} // namespace starbucks_cuda_emulator
