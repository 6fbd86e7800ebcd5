// SPDX-License-Identifier: Apache-2.0
// backend::cuda: device memory and kernels on an NVIDIA GPU. Plain C++: the policy forwards to
// the launchers declared in launchers.hpp, which one .cu file of the program defines by
// including <starbucks/backend/cuda/implementation.cuh>.
#pragma once

#ifndef STARBUCKS_WITH_CUDA
#error "starbucks/backend/cuda/cuda.hpp needs the CUDA toolkit: enable STARBUCKS_WITH_CUDA, link starbucks::cuda, and compile <starbucks/backend/cuda/implementation.cuh> in one .cu file of the program"
#endif

#include <type_traits>

#include "launchers.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend {

/// @brief The CUDA backend: tensors live in device memory; f32 math (bf16 GEMM operands on
/// tensor cores, accumulating in f32) runs on the context's one stream.
///
/// Host code never dereferences its pointers (`host_accessible` is false): data crosses with
/// `upload` / `download`, or `to<B>(tensor)` in ops/transfer.hpp. Results of reductions that
/// return to the host (`squared_norm`) and index checks (`gather_rows`, `cross_entropy`) wait for
/// the stream; everything else is queued.
struct cuda {
    using context = cuda_detail::device_state;
    static constexpr bool host_accessible = false;
    static constexpr const char* name = "cuda";

    /// The state of the current device. @throws resource_error without a usable GPU.
    static context& default_context() { return cuda_detail::default_state(); }
    static void* allocate(std::size_t bytes) { return cuda_detail::allocate(default_context(), bytes); }
    static void deallocate(void* p, std::size_t) noexcept {
        if (p) cuda_detail::deallocate(cuda_detail::default_state(), p);
    }
    static void upload(context& c, void* device_dst, const void* host_src, std::size_t bytes) {
        cuda_detail::upload(c, device_dst, host_src, bytes);
    }
    static void download(context& c, void* host_dst, const void* device_src, std::size_t bytes) {
        cuda_detail::download(c, host_dst, device_src, bytes);
    }
    static void synchronize(context& c) { cuda_detail::synchronize(c); }

    /// Element types with device kernels: float for the math, bf16 for storage and GEMM operands.
    template <class T>
    static constexpr bool math_type = std::is_same_v<T, float>;
    template <class T>
    static constexpr bool storage_type = std::is_same_v<T, float> || std::is_same_v<T, bf16> ||
                                         std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::int32_t> ||
                                         std::is_same_v<T, std::uint8_t>;

    template <class C, class T>
    static void fill(C& c, std::size_t n, T value, T* y) {
        static_assert(storage_type<T>, "starbucks::backend::cuda::fill: no device kernel for this element type");
        cuda_detail::fill<T>(c, n, value, y);
    }
    template <class C, class T>
    static void copy(C& c, const strided<T>& dst, const strided<const T>& src) {
        static_assert(storage_type<T>, "starbucks::backend::cuda::copy: no device kernel for this element type");
        cuda_detail::copy<T>(c, dst, src);
    }
    template <class C, class T>
    static void accumulate(C& c, const strided<T>& dst, const strided<const T>& src, T alpha) {
        static_assert(math_type<T>, "starbucks::backend::cuda::accumulate: float only (double stays on the host backends)");
        cuda_detail::accumulate<T>(c, dst, src, alpha);
    }
    template <class C, class S, class D>
    static void convert(C& c, std::size_t n, const S* x, D* y) {
        static_assert(storage_type<S> && (std::is_same_v<D, float> || std::is_same_v<D, bf16>),
                      "starbucks::backend::cuda::convert: converts to float or bf16 only");
        cuda_detail::convert<S, D>(c, n, x, y);
    }

    template <class C, class T>
    static void unary(C& c, unary_op op, std::size_t n, const T* x, T* y, T param = T(1)) {
        static_assert(math_type<T>, "starbucks::backend::cuda::unary: float only");
        cuda_detail::unary<T>(c, op, n, x, y, param);
    }
    template <class C, class T>
    static void unary_backward(C& c, unary_op op, std::size_t n, const T* x, const T* y, const T* dy, T* dx,
                               T param = T(1)) {
        static_assert(math_type<T>, "starbucks::backend::cuda::unary_backward: float only");
        cuda_detail::unary_backward<T>(c, op, n, x, y, dy, dx, param);
    }
    template <class C, class T>
    static void binary(C& c, binary_op op, const strided<T>& out, const strided<const T>& a, const strided<const T>& b,
                       bool accumulate = false) {
        static_assert(math_type<T>, "starbucks::backend::cuda::binary: float only");
        cuda_detail::binary<T>(c, op, out, a, b, accumulate);
    }

    template <class C, class T, class TC>
    static void gemm(C& c, const gemm_args<T, TC>& g) {
        static_assert(std::is_same_v<TC, float> && (std::is_same_v<T, float> || std::is_same_v<T, bf16>),
                      "starbucks::backend::cuda::gemm: f32 or bf16 operands with an f32 result");
        cuda_detail::gemm<T, TC>(c, g);
    }

    template <class C, class T>
    static void softmax(C& c, std::size_t rows, std::size_t cols, const T* x, T* y, bool log) {
        static_assert(math_type<T>, "starbucks::backend::cuda::softmax: float only (double stays on the host backends)");
        cuda_detail::softmax<T>(c, rows, cols, x, y, log);
    }
    template <class C, class T>
    static void softmax_backward(C& c, std::size_t rows, std::size_t cols, const T* y, const T* dy, T* dx, bool log) {
        static_assert(math_type<T>, "starbucks::backend::cuda::softmax_backward: float only (double stays on the host backends)");
        cuda_detail::softmax_backward<T>(c, rows, cols, y, dy, dx, log);
    }
    template <class C, class T>
    static void logsumexp(C& c, std::size_t rows, std::size_t cols, const T* x, T* y) {
        static_assert(math_type<T>, "starbucks::backend::cuda::logsumexp: float only (double stays on the host backends)");
        cuda_detail::logsumexp<T>(c, rows, cols, x, y);
    }
    template <class C, class T>
    static void logsumexp_backward(C& c, std::size_t rows, std::size_t cols, const T* x, const T* y, const T* dy,
                                   T* dx) {
        static_assert(math_type<T>, "starbucks::backend::cuda::logsumexp_backward: float only (double stays on the host backends)");
        cuda_detail::logsumexp_backward<T>(c, rows, cols, x, y, dy, dx);
    }

    template <class C, class T>
    static void layer_norm(C& c, std::size_t rows, std::size_t cols, const T* x, const T* gamma, const T* beta, T eps,
                           T* y, T* mean, T* rstd) {
        static_assert(math_type<T>, "starbucks::backend::cuda::layer_norm: float only (double stays on the host backends)");
        cuda_detail::layer_norm<T>(c, rows, cols, x, gamma, beta, eps, y, mean, rstd);
    }
    template <class C, class T>
    static void layer_norm_backward(C& c, std::size_t rows, std::size_t cols, const T* x, const T* gamma,
                                    const T* mean, const T* rstd, const T* dy, T* dx, T* dgamma, T* dbeta) {
        static_assert(math_type<T>, "starbucks::backend::cuda::layer_norm_backward: float only (double stays on the host backends)");
        cuda_detail::layer_norm_backward<T>(c, rows, cols, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
    }
    template <class C, class T>
    static void l2_normalize(C& c, std::size_t rows, std::size_t cols, const T* x, T eps, T* y) {
        static_assert(math_type<T>, "starbucks::backend::cuda::l2_normalize: float only (double stays on the host backends)");
        cuda_detail::l2_normalize<T>(c, rows, cols, x, eps, y);
    }
    template <class C, class T>
    static void l2_normalize_backward(C& c, std::size_t rows, std::size_t cols, const T* x, const T* y, T eps,
                                      const T* dy, T* dx) {
        static_assert(math_type<T>, "starbucks::backend::cuda::l2_normalize_backward: float only (double stays on the host backends)");
        cuda_detail::l2_normalize_backward<T>(c, rows, cols, x, y, eps, dy, dx);
    }

    template <class C, class T>
    static void gather_rows(C& c, std::size_t n_idx, std::size_t cols, const T* table, std::size_t table_rows,
                            const std::int64_t* idx, T* out) {
        static_assert(math_type<T> || std::is_same_v<T, bf16>, "starbucks::backend::cuda::gather_rows: float or bf16 tables only");
        cuda_detail::gather_rows<T>(c, n_idx, cols, table, table_rows, idx, out);
    }
    template <class C, class T>
    static void scatter_add_rows(C& c, std::size_t n_idx, std::size_t cols, const T* dout, std::size_t table_rows,
                                 const std::int64_t* idx, T* dtable) {
        static_assert(math_type<T>, "starbucks::backend::cuda::scatter_add_rows: float only (double stays on the host backends)");
        cuda_detail::scatter_add_rows<T>(c, n_idx, cols, dout, table_rows, idx, dtable);
    }
    template <class C, class T>
    static void masked_mean(C& c, std::size_t batch, std::size_t tokens, std::size_t cols, const T* x, const T* mask,
                            T* y) {
        static_assert(math_type<T>, "starbucks::backend::cuda::masked_mean: float only (double stays on the host backends)");
        cuda_detail::masked_mean<T>(c, batch, tokens, cols, x, mask, y);
    }
    template <class C, class T>
    static void masked_mean_backward(C& c, std::size_t batch, std::size_t tokens, std::size_t cols, const T* mask,
                                     const T* dy, T* dx) {
        static_assert(math_type<T>, "starbucks::backend::cuda::masked_mean_backward: float only (double stays on the host backends)");
        cuda_detail::masked_mean_backward<T>(c, batch, tokens, cols, mask, dy, dx);
    }

    template <class C, class T>
    static void cross_entropy(C& c, std::size_t rows, std::size_t cols, const T* logits, const std::int64_t* labels,
                              std::int64_t ignore_index, T* loss) {
        static_assert(math_type<T>, "starbucks::backend::cuda::cross_entropy: float only (double stays on the host backends)");
        cuda_detail::cross_entropy<T>(c, rows, cols, logits, labels, ignore_index, loss);
    }
    template <class C, class T>
    static void cross_entropy_backward(C& c, std::size_t rows, std::size_t cols, const T* logits,
                                       const std::int64_t* labels, std::int64_t ignore_index, const T* dloss,
                                       T* dlogits) {
        static_assert(math_type<T>, "starbucks::backend::cuda::cross_entropy_backward: float only (double stays on the host backends)");
        cuda_detail::cross_entropy_backward<T>(c, rows, cols, logits, labels, ignore_index, dloss, dlogits);
    }
    template <class C, class T>
    static void kl_div(C& c, std::size_t rows, std::size_t cols, const T* log_q, const T* log_p, T* out) {
        static_assert(math_type<T>, "starbucks::backend::cuda::kl_div: float only (double stays on the host backends)");
        cuda_detail::kl_div<T>(c, rows, cols, log_q, log_p, out);
    }
    template <class C, class T>
    static void kl_div_backward(C& c, std::size_t rows, std::size_t cols, const T* log_q, const T* log_p,
                                const T* dout, T* dlog_q, T* dlog_p) {
        static_assert(math_type<T>, "starbucks::backend::cuda::kl_div_backward: float only (double stays on the host backends)");
        cuda_detail::kl_div_backward<T>(c, rows, cols, log_q, log_p, dout, dlog_q, dlog_p);
    }

    template <class C, class T>
    static double squared_norm(C& c, std::size_t n, const T* x) {
        static_assert(math_type<T>, "starbucks::backend::cuda::squared_norm: float only (double stays on the host backends)");
        return cuda_detail::squared_norm<T>(c, n, x);
    }
    template <class C, class T>
    static void adamw(C& c, std::size_t n, const detail::adamw_args& a, T* param, const T* grad, T* m, T* v) {
        static_assert(math_type<T>, "starbucks::backend::cuda::adamw: float only (double stays on the host backends)");
        cuda_detail::adamw<T>(c, n, a, param, grad, m, v);
    }

    /// Fused attention for heads of up to 128 dimensions (the kernels' shared-memory tiles).
    template <class T>
    static bool fused_attention_supports(const fused_attention_args<T>& a) {
        return math_type<T> && a.head_size <= max_fused_head_size;
    }
    static constexpr std::size_t max_fused_head_size = 128;
    template <class C, class T>
    static void attention_forward(C& c, const fused_attention_args<T>& a, T* out, T* lse) {
        static_assert(math_type<T>, "starbucks::backend::cuda::attention_forward: float only (double stays on the host backends)");
        cuda_detail::attention_forward<T>(c, a, out, lse);
    }
    template <class C, class T>
    static void attention_backward(C& c, const fused_attention_args<T>& a, const T* out, const T* lse, const T* dout, T* dq, T* dk, T* dv) {
        static_assert(math_type<T>, "starbucks::backend::cuda::attention_backward: float only (double stays on the host backends)");
        cuda_detail::attention_backward<T>(c, a, out, lse, dout, dq, dk, dv);
    }
    template <class C, class T>
    static void dropout(C& c, std::size_t n, T p, rng_stream rng, const T* x, T* y, T* mask) {
        static_assert(math_type<T>, "starbucks::backend::cuda::dropout: float only (double stays on the host backends)");
        cuda_detail::dropout<T>(c, n, p, rng, x, y, mask);
    }
    template <class C, class T>
    static void fill_uniform(C& c, std::size_t n, rng_stream rng, T lo, T hi, T* y) {
        static_assert(math_type<T>, "starbucks::backend::cuda::fill_uniform: float only (double stays on the host backends)");
        cuda_detail::fill_uniform<T>(c, n, rng, lo, hi, y);
    }
    template <class C, class T>
    static void fill_normal(C& c, std::size_t n, rng_stream rng, T mean, T stddev, T* y) {
        static_assert(math_type<T>, "starbucks::backend::cuda::fill_normal: float only (double stays on the host backends)");
        cuda_detail::fill_normal<T>(c, n, rng, mean, stddev, y);
    }
};

static_assert(backend_policy<cuda>);
static_assert(has_gemm<cuda, float> && has_gemm<cuda, bf16, float>);

} // namespace backend
STARBUCKS_NAMESPACE_END
