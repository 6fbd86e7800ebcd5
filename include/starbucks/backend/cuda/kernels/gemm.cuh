// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: the (batched, strided) matrix product on cuBLASLt, bias fused as its
// epilogue and a residual as its C operand; cuBLAS's strided-batched GEMM where cuBLASLt has no
// algorithm. bf16 operands run on tensor cores and accumulate in f32.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "elementwise.cuh"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

/// c = [beta * c or 0 when `rescale`] + bias[j] + residual[i, j], then GELU (erf) when asked:
/// the parts of the epilogue the GEMM call did not apply. cuBLASLt's own GELU epilogue is the
/// tanh approximation, not BERT's erf form, so GELU always runs here.
__global__ void epilogue_kernel(std::size_t batch, std::size_t m, std::size_t n, float* c, std::ptrdiff_t ldc,
                                std::ptrdiff_t stride_c, bool rescale, float beta, const float* bias,
                                const float* residual, bool apply_gelu) {
    STARBUCKS_GRID_LOOP(i, batch * m * n) {
        const std::size_t j = i % n, row = (i / n) % m, bt = i / (m * n);
        const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(bt) * stride_c + static_cast<std::ptrdiff_t>(row) * ldc +
                                  static_cast<std::ptrdiff_t>(j);
        float v = rescale ? (beta == 0.0f ? 0.0f : beta * c[at]) : c[at];
        if (bias) v += bias[j];
        if (residual) v += residual[at];
        if (apply_gelu) v = gelu(v);
        c[at] = v;
    }
}

/// The largest power of two (at most 256) dividing the address: cuBLASLt picks kernels by it.
inline unsigned alignment_of(const void* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    unsigned align = 256;
    while (align > 1 && (a % align) != 0) align >>= 1;
    return align;
}

/// A row-major operand as stored: rows x cols with leading dimension ld, batch stride `stride`.
struct operand {
    const void* data;
    std::size_t rows, cols;
    std::ptrdiff_t ld, stride;
};

/// Elements from the first to the last one an operand touches (a stride of 0 repeats one matrix).
inline std::size_t span_of(const operand& o, std::size_t batch) {
    return static_cast<std::size_t>(static_cast<std::ptrdiff_t>(batch - 1) * o.stride +
                                    static_cast<std::ptrdiff_t>(o.rows - 1) * o.ld) + o.cols;
}

struct lt_resources {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    ~lt_resources() {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        if (c) cublasLtMatrixLayoutDestroy(c);
        if (b) cublasLtMatrixLayoutDestroy(b);
        if (a) cublasLtMatrixLayoutDestroy(a);
        if (desc) cublasLtMatmulDescDestroy(desc);
    }
};

inline cublasLtMatrixLayout_t make_layout(cudaDataType type, std::size_t rows, std::size_t cols, std::ptrdiff_t ld,
                                          std::size_t batch, std::ptrdiff_t stride) {
    cublasLtMatrixLayout_t l = nullptr;
    STARBUCKS_CUDA_CHECK(cublasLtMatrixLayoutCreate(&l, type, rows, cols, ld));
    if (batch > 1) {
        const int count = static_cast<int>(batch);
        const std::int64_t offset = stride;
        STARBUCKS_CUDA_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
        STARBUCKS_CUDA_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &offset,
                                                              sizeof offset));
    }
    return l;
}

/// Heuristic results per problem (shapes, types, transposes, epilogue, alignments); a problem
/// cuBLASLt has no algorithm for is remembered too, and goes to cuBLAS.
inline std::unordered_map<std::string, std::optional<cublasLtMatmulAlgo_t>>& lt_algorithms() {
    static std::unordered_map<std::string, std::optional<cublasLtMatmulAlgo_t>> cache;
    return cache;
}

/// Column-major view of the row-major product: C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m),
/// so cuBLAS's A is our B and its B is our A. Returns false when cuBLASLt has no algorithm.
inline bool lt_gemm(device_state& s, cudaDataType ab_type, const operand& a, bool trans_a, const operand& b,
                    bool trans_b, std::size_t batch, std::size_t m, std::size_t n, std::size_t k, float alpha,
                    float beta, const float* c_in, float* d, std::ptrdiff_t ldc, std::ptrdiff_t stride_c,
                    const float* bias) {
    lt_resources r;
    STARBUCKS_CUDA_CHECK(cublasLtMatmulDescCreate(&r.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t op_a = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    STARBUCKS_CUDA_CHECK(cublasLtMatmulDescSetAttribute(r.desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a));
    STARBUCKS_CUDA_CHECK(cublasLtMatmulDescSetAttribute(r.desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof op_b));
    if (bias) {
        const cublasLtEpilogue_t e = CUBLASLT_EPILOGUE_BIAS;
        STARBUCKS_CUDA_CHECK(cublasLtMatmulDescSetAttribute(r.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof e));
        STARBUCKS_CUDA_CHECK(cublasLtMatmulDescSetAttribute(r.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    }
    // Stored (column-major) shapes: B as (cols x rows) with its ld, likewise A.
    r.a = make_layout(ab_type, b.cols, b.rows, b.ld, batch, b.stride);
    r.b = make_layout(ab_type, a.cols, a.rows, a.ld, batch, a.stride);
    r.c = make_layout(CUDA_R_32F, n, m, ldc, batch, stride_c);

    const unsigned al_a = alignment_of(b.data), al_b = alignment_of(a.data), al_c = alignment_of(c_in),
                   al_d = alignment_of(d);
    const std::string key = std::to_string(ab_type) + ':' + std::to_string(trans_a) + std::to_string(trans_b) + ':' +
                            std::to_string(batch) + ',' + std::to_string(m) + ',' + std::to_string(n) + ',' +
                            std::to_string(k) + ':' + std::to_string(a.ld) + ',' + std::to_string(b.ld) + ',' +
                            std::to_string(ldc) + ':' + std::to_string(a.stride) + ',' + std::to_string(b.stride) + ',' +
                            std::to_string(stride_c) + ':' + std::to_string(bias != nullptr) + ':' +
                            std::to_string(al_a) + ',' + std::to_string(al_b) + ',' + std::to_string(al_c) + ',' +
                            std::to_string(al_d);
    std::optional<cublasLtMatmulAlgo_t> algo;
    {
        std::lock_guard lock(s.mutex());
        auto& cache = lt_algorithms();
        auto it = cache.find(key);
        if (it != cache.end()) {
            algo = it->second;
        } else {
            STARBUCKS_CUDA_CHECK(cublasLtMatmulPreferenceCreate(&r.pref));
            const std::size_t ws = s.workspace_bytes();
            STARBUCKS_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(r.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                                      &ws, sizeof ws));
            const std::uint32_t aligns[4] = {al_a, al_b, al_c, al_d};
            const cublasLtMatmulPreferenceAttributes_t which[4] = {
                CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
            for (int i = 0; i < 4; ++i)
                STARBUCKS_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(r.pref, which[i], &aligns[i], sizeof aligns[i]));
            cublasLtMatmulHeuristicResult_t result{};
            int found = 0;
            const cublasStatus_t st =
                cublasLtMatmulAlgoGetHeuristic(s.lt(), r.desc, r.a, r.b, r.c, r.c, r.pref, 1, &result, &found);
            // Any refusal (no algorithm, a layout cuBLASLt does not take) goes to cuBLAS, which
            // reports a truly invalid problem itself.
            if (st == CUBLAS_STATUS_SUCCESS && found > 0) algo = result.algo;
            cache.emplace(key, algo);
        }
    }
    if (!algo) return false;
    STARBUCKS_CUDA_CHECK(cublasLtMatmul(s.lt(), r.desc, &alpha, b.data, r.a, a.data, r.b, &beta, c_in, r.c, d, r.c,
                                        &*algo, s.workspace(), s.workspace_bytes(), s.stream()));
    return true;
}

template <class T, class TC>
void gemm(device_state& s, const gemm_args<T, TC>& g) {
    if (!g.batch || !g.m || !g.n) return;
    const auto& e = g.epilogue;
    const bool gelu_after = e.activation == gemm_activation::gelu;
    const unsigned out_grid = grid_for(g.batch * g.m * g.n);
    if (g.k == 0) { // an empty sum: only beta * c and the epilogue remain
        STARBUCKS_CUDA_LAUNCH(out_grid, block_threads, s.stream(), epilogue_kernel)(g.batch, g.m, g.n, g.c, g.ldc, g.stride_c, true,
                                                                    g.beta, e.bias, e.residual, gelu_after);
        check_launch("gemm (k = 0)");
        return;
    }
    operand a{g.a, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda, g.stride_a};
    operand b{g.b, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb, g.stride_b};
    cudaDataType ab_type = std::is_same_v<T, bf16> ? CUDA_R_16BF : CUDA_R_32F;
    // matmul_precision::bf16 on float tensors: round both operands into bf16 copies first.
    std::optional<device_state::scratch> a16, b16;
    if constexpr (std::is_same_v<T, float>) {
        if (g.bf16_operands) {
            const std::size_t na = span_of(a, g.batch), nb = span_of(b, g.batch);
            a16.emplace(s, na * sizeof(bf16));
            b16.emplace(s, nb * sizeof(bf16));
            convert<float, bf16>(s, na, g.a, a16->as<bf16>());
            convert<float, bf16>(s, nb, g.b, b16->as<bf16>());
            a.data = a16->p;
            b.data = b16->p;
            ab_type = CUDA_R_16BF;
        }
    }
    // A residual becomes cuBLASLt's C operand (D = alpha AB + 1 * residual) when beta is 0.
    const bool residual_as_c = e.residual && g.beta == 0.0f;
    const float beta = residual_as_c ? 1.0f : g.beta;
    const float* c_in = residual_as_c ? e.residual : g.c;
    bool bias_done = false, residual_done = false;
    if (lt_gemm(s, ab_type, a, g.trans_a, b, g.trans_b, g.batch, g.m, g.n, g.k, g.alpha, beta, c_in, g.c, g.ldc,
                g.stride_c, e.bias)) {
        bias_done = true;
        residual_done = residual_as_c;
    } else {
        const cublasOperation_t op_a = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
        STARBUCKS_CUDA_CHECK(cublasGemmStridedBatchedEx(
            s.cublas(), op_a, op_b, static_cast<int>(g.n), static_cast<int>(g.m), static_cast<int>(g.k), &g.alpha,
            b.data, ab_type, static_cast<int>(b.ld), b.stride, a.data, ab_type, static_cast<int>(a.ld), a.stride,
            &g.beta, g.c, CUDA_R_32F, static_cast<int>(g.ldc), g.stride_c, static_cast<int>(g.batch),
            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
    const float* bias_left = bias_done ? nullptr : e.bias;
    const float* residual_left = residual_done ? nullptr : e.residual;
    if (bias_left || residual_left || gelu_after) {
        STARBUCKS_CUDA_LAUNCH(out_grid, block_threads, s.stream(), epilogue_kernel)(g.batch, g.m, g.n, g.c, g.ldc, g.stride_c, false,
                                                                    0.0f, bias_left, residual_left, gelu_after);
        check_launch("gemm epilogue");
    }
}

template void gemm<float, float>(device_state&, const gemm_args<float, float>&);
template void gemm<bf16, float>(device_state&, const gemm_args<bf16, float>&);

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
