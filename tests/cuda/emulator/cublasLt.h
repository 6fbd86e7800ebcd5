// SPDX-License-Identifier: Apache-2.0
// Stands in for <cublasLt.h> on the emulated device (see blas.hpp): descriptors, layouts and
// preferences with typed attributes (a value of the wrong size is CUBLAS_STATUS_INVALID_VALUE,
// as in cuBLASLt), the heuristic query, and the matmul with its bias epilogue.
//
// Which problems get an algorithm is the emulator's rule, not cuBLASLt's (which is not
// documented): none when the A or B operand's minimum alignment preference is under 16 bytes.
// A GPU sends such problems to cuBLAS at some other boundary; this one makes the suite's odd
// shapes and offset views take backend::cuda's fallback path, so both paths run.
#pragma once

#include <cstdint>
#include <cstring>

#include "blas.hpp"

enum cublasLtEpilogue_t { CUBLASLT_EPILOGUE_DEFAULT = 1, CUBLASLT_EPILOGUE_BIAS = 4 };
enum cublasLtMatmulDescAttributes_t {
    CUBLASLT_MATMUL_DESC_TRANSA = 3,
    CUBLASLT_MATMUL_DESC_TRANSB = 4,
    CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
    CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
};
enum cublasLtMatrixLayoutAttribute_t {
    CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5,
    CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6,
};
enum cublasLtMatmulPreferenceAttributes_t {
    CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8,
};

struct cublasLtContext {
    int id;
};
struct cublasLtMatmulDescOpaque_t {
    cublasComputeType_t compute;
    cudaDataType scale;
    std::int32_t trans_a = CUBLAS_OP_N, trans_b = CUBLAS_OP_N;
    std::uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    const void* bias = nullptr;
};
struct cublasLtMatrixLayoutOpaque_t {
    cudaDataType type;
    std::uint64_t rows, cols;
    std::int64_t ld;
    std::int32_t batch = 1;
    std::int64_t stride = 0;
};
struct cublasLtMatmulPreferenceOpaque_t {
    std::uint64_t workspace = 0;
    std::uint32_t align[4] = {256, 256, 256, 256};
};
struct cublasLtMatmulAlgo_t {
    std::uint64_t data[8];
};
struct cublasLtMatmulHeuristicResult_t {
    cublasLtMatmulAlgo_t algo;
    std::size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
};
using cublasLtHandle_t = cublasLtContext*;
using cublasLtMatmulDesc_t = cublasLtMatmulDescOpaque_t*;
using cublasLtMatrixLayout_t = cublasLtMatrixLayoutOpaque_t*;
using cublasLtMatmulPreference_t = cublasLtMatmulPreferenceOpaque_t*;

namespace starbucks_cuda_emulator {
/// Copies an attribute value, refusing one of the wrong size as cuBLASLt does.
template <class T>
cublasStatus_t set_attribute(T& field, const void* value, std::size_t bytes) {
    if (!value || bytes != sizeof(T)) return CUBLAS_STATUS_INVALID_VALUE;
    std::memcpy(&field, value, sizeof(T));
    return CUBLAS_STATUS_SUCCESS;
}

/// The shape checks of a matmul: op(A) m x k, op(B) k x n, C and D m x n, ld >= rows, one batch
/// count, A and B of one GEMM type, C and D f32.
inline cublasStatus_t check_problem(const cublasLtMatmulDescOpaque_t& d, const cublasLtMatrixLayoutOpaque_t& a,
                                    const cublasLtMatrixLayoutOpaque_t& b, const cublasLtMatrixLayoutOpaque_t& c,
                                    const cublasLtMatrixLayoutOpaque_t& dd) {
    for (auto* l : {&a, &b, &c, &dd})
        if (l->ld < static_cast<std::int64_t>(l->rows > 0 ? l->rows : 1) || l->batch < 1) return CUBLAS_STATUS_INVALID_VALUE;
    const bool ta = d.trans_a == CUBLAS_OP_T, tb = d.trans_b == CUBLAS_OP_T;
    const std::uint64_t m = c.rows, n = c.cols, k = ta ? a.rows : a.cols;
    if ((ta ? a.cols : a.rows) != m || (tb ? b.rows : b.cols) != n || (tb ? b.cols : b.rows) != k || dd.rows != m ||
        dd.cols != n || a.batch != c.batch || b.batch != c.batch || dd.batch != c.batch || dd.ld != c.ld ||
        dd.stride != c.stride)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (d.compute != CUBLAS_COMPUTE_32F || d.scale != CUDA_R_32F || a.type != b.type || !gemm_type(a.type) ||
        c.type != CUDA_R_32F || dd.type != CUDA_R_32F)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (d.epilogue == CUBLASLT_EPILOGUE_BIAS && !d.bias) return CUBLAS_STATUS_INVALID_VALUE;
    if (d.epilogue != CUBLASLT_EPILOGUE_DEFAULT && d.epilogue != CUBLASLT_EPILOGUE_BIAS) return CUBLAS_STATUS_NOT_SUPPORTED;
    return CUBLAS_STATUS_SUCCESS;
}
} // namespace starbucks_cuda_emulator

inline cublasStatus_t cublasLtCreate(cublasLtHandle_t* h) {
    *h = new cublasLtContext{1};
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* d, cublasComputeType_t compute, cudaDataType scale) {
    *d = new cublasLtMatmulDescOpaque_t{compute, scale};
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    delete d;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr,
                                                     const void* value, std::size_t bytes) {
    using starbucks_cuda_emulator::set_attribute;
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return set_attribute(d->trans_a, value, bytes);
    case CUBLASLT_MATMUL_DESC_TRANSB: return set_attribute(d->trans_b, value, bytes);
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return set_attribute(d->epilogue, value, bytes);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return set_attribute(d->bias, value, bytes);
    }
    return CUBLAS_STATUS_INVALID_VALUE;
}
inline cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* l, cudaDataType type, std::uint64_t rows,
                                                 std::uint64_t cols, std::int64_t ld) {
    *l = new cublasLtMatrixLayoutOpaque_t{type, rows, cols, ld};
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
    delete l;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                                                       const void* value, std::size_t bytes) {
    using starbucks_cuda_emulator::set_attribute;
    switch (attr) {
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: return set_attribute(l->batch, value, bytes);
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: return set_attribute(l->stride, value, bytes);
    }
    return CUBLAS_STATUS_INVALID_VALUE;
}
inline cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* p) {
    *p = new cublasLtMatmulPreferenceOpaque_t{};
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    delete p;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                           cublasLtMatmulPreferenceAttributes_t attr, const void* value,
                                                           std::size_t bytes) {
    using starbucks_cuda_emulator::set_attribute;
    switch (attr) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES: return set_attribute(p->workspace, value, bytes);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES: return set_attribute(p->align[0], value, bytes);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES: return set_attribute(p->align[1], value, bytes);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES: return set_attribute(p->align[2], value, bytes);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: return set_attribute(p->align[3], value, bytes);
    }
    return CUBLAS_STATUS_INVALID_VALUE;
}

inline cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t d,
                                                     cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                                     cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dd,
                                                     cublasLtMatmulPreference_t p, int requested,
                                                     cublasLtMatmulHeuristicResult_t* results, int* found) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!d || !a || !b || !c || !dd || !p || requested < 1 || !results || !found) return CUBLAS_STATUS_INVALID_VALUE;
    *found = 0;
    if (const cublasStatus_t s = starbucks_cuda_emulator::check_problem(*d, *a, *b, *c, *dd); s != CUBLAS_STATUS_SUCCESS)
        return s;
    if (p->align[0] < 16 || p->align[1] < 16) return CUBLAS_STATUS_NOT_SUPPORTED;
    results[0] = cublasLtMatmulHeuristicResult_t{};
    results[0].algo.data[0] = 0x5b; // any algorithm: the emulator has one
    results[0].state = CUBLAS_STATUS_SUCCESS;
    *found = 1;
    return CUBLAS_STATUS_SUCCESS;
}

inline cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t d, const void* alpha, const void* a,
                                     cublasLtMatrixLayout_t la, const void* b, cublasLtMatrixLayout_t lb,
                                     const void* beta, const void* c, cublasLtMatrixLayout_t lc, void* dd,
                                     cublasLtMatrixLayout_t ld, const cublasLtMatmulAlgo_t* algo, void*, std::size_t,
                                     cudaStream_t) {
    using namespace starbucks_cuda_emulator;
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!d || !alpha || !beta || !a || !b || !dd || !algo || algo->data[0] != 0x5b) return CUBLAS_STATUS_INVALID_VALUE;
    if (const cublasStatus_t s = check_problem(*d, *la, *lb, *lc, *ld); s != CUBLAS_STATUS_SUCCESS) return s;
    const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
    if (be != 0.0f && !c) return CUBLAS_STATUS_INVALID_VALUE;
    const bool ta = d->trans_a == CUBLAS_OP_T, tb = d->trans_b == CUBLAS_OP_T;
    const auto k = static_cast<std::int64_t>(ta ? la->rows : la->cols);
    const float* bias = d->epilogue == CUBLASLT_EPILOGUE_BIAS ? static_cast<const float*>(d->bias) : nullptr;
    if (bias && !is_device(bias, lc->rows * sizeof(float))) return CUBLAS_STATUS_INVALID_VALUE;
    column_major_gemm(ta, tb, static_cast<std::int64_t>(lc->rows), static_cast<std::int64_t>(lc->cols), k, lc->batch,
                      al, matrix_view{la->type, a, la->ld, la->stride}, matrix_view{lb->type, b, lb->ld, lb->stride}, be,
                      static_cast<const float*>(c), lc->ld, lc->stride, static_cast<float*>(dd), ld->ld, ld->stride,
                      bias);
    return CUBLAS_STATUS_SUCCESS;
}
