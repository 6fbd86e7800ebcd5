// SPDX-License-Identifier: Apache-2.0
// Plain C++ declarations of everything the CUDA translation unit defines: the device state and
// one launcher per op. Host code includes this, never <cuda_runtime.h>; the definitions and
// their explicit instantiations live in kernels/*.cuh, compiled once per program by the .cu
// file that includes <starbucks/backend/cuda/implementation.cuh>.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "../../core/dtype.hpp"
#include "../../core/rng.hpp"
#include "../concepts.hpp"
#include "../fused_attention.hpp"
#include "../reference/optim.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

/// One device, its stream, cuBLAS/cuBLASLt handles, GEMM workspace and block cache
/// (defined in kernels/state.cuh).
class device_state;

/// The process-wide state on the current device, created on first use.
/// @throws resource_error when no CUDA device is usable (naming the CUDA call and its status),
/// unsupported_error when the program was not compiled for the device's architecture.
device_state& default_state();
/// @brief Makes `ordinal` the device default_state() is created on (a rank of a multi-GPU run
/// picks its GPU); call before the first use.
/// @throws usage_error when the state already lives on another device, resource_error when the
/// runtime has no such device.
void use_device(int ordinal);

/// Facts about the device and the build, for messages and benchmarks.
struct device_info {
    int ordinal = 0, major = 0, minor = 0, multiprocessors = 0, clock_khz = 0;
    std::size_t total_memory = 0;
    std::string name, compiled_architectures;
};
device_info info(device_state&);
/// How many CUDA devices the runtime sees; 0 (not an error) without a driver or a GPU, with
/// `why` set to the CUDA status that said so.
int device_count(std::string* why = nullptr);

void* allocate(device_state&, std::size_t bytes);
void deallocate(device_state&, void* p) noexcept;
/// Cache statistics: blocks obtained from cudaMalloc, and requests served from the cache.
std::size_t raw_allocations(device_state&);
std::size_t reuses(device_state&);

/// Explicit transfers on the state's stream. `download` waits for the copy (and all work
/// queued before it); `upload` returns once the host buffer may be reused.
void upload(device_state&, void* device_dst, const void* host_src, std::size_t bytes);
void download(device_state&, void* host_dst, const void* device_src, std::size_t bytes);
void copy_bytes(device_state&, void* device_dst, const void* device_src, std::size_t bytes);
/// Waits for every queued kernel; reports an asynchronous kernel failure as internal_error.
void synchronize(device_state&);

template <class T>
void fill(device_state&, std::size_t n, T value, T* y);
template <class T>
void copy(device_state&, const strided<T>& dst, const strided<const T>& src);
template <class T>
void accumulate(device_state&, const strided<T>& dst, const strided<const T>& src, T alpha);
template <class S, class D>
void convert(device_state&, std::size_t n, const S* x, D* y);

template <class T>
void unary(device_state&, unary_op op, std::size_t n, const T* x, T* y, T param);
template <class T>
void unary_backward(device_state&, unary_op op, std::size_t n, const T* x, const T* y, const T* dy, T* dx, T param);
template <class T>
void binary(device_state&, binary_op op, const strided<T>& out, const strided<const T>& a, const strided<const T>& b,
            bool accumulate);

template <class T, class TC>
void gemm(device_state&, const gemm_args<T, TC>& g);

template <class T>
void softmax(device_state&, std::size_t rows, std::size_t cols, const T* x, T* y, bool log);
template <class T>
void softmax_backward(device_state&, std::size_t rows, std::size_t cols, const T* y, const T* dy, T* dx, bool log);
template <class T>
void logsumexp(device_state&, std::size_t rows, std::size_t cols, const T* x, T* y);
template <class T>
void logsumexp_backward(device_state&, std::size_t rows, std::size_t cols, const T* x, const T* y, const T* dy, T* dx);

template <class T>
void layer_norm(device_state&, std::size_t rows, std::size_t cols, const T* x, const T* gamma, const T* beta, T eps,
                T* y, T* mean, T* rstd);
template <class T>
void layer_norm_backward(device_state&, std::size_t rows, std::size_t cols, const T* x, const T* gamma,
                         const T* mean, const T* rstd, const T* dy, T* dx, T* dgamma, T* dbeta);
template <class T>
void l2_normalize(device_state&, std::size_t rows, std::size_t cols, const T* x, T eps, T* y);
template <class T>
void l2_normalize_backward(device_state&, std::size_t rows, std::size_t cols, const T* x, const T* y, T eps,
                           const T* dy, T* dx);

template <class T>
void gather_rows(device_state&, std::size_t n_idx, std::size_t cols, const T* table, std::size_t table_rows,
                 const std::int64_t* idx, T* out);
template <class T>
void scatter_add_rows(device_state&, std::size_t n_idx, std::size_t cols, const T* dout, std::size_t table_rows,
                      const std::int64_t* idx, T* dtable);
template <class T>
void masked_mean(device_state&, std::size_t batch, std::size_t tokens, std::size_t cols, const T* x, const T* mask,
                 T* y);
template <class T>
void masked_mean_backward(device_state&, std::size_t batch, std::size_t tokens, std::size_t cols, const T* mask,
                          const T* dy, T* dx);

template <class T>
void cross_entropy(device_state&, std::size_t rows, std::size_t cols, const T* logits, const std::int64_t* labels,
                   std::int64_t ignore_index, T* loss);
template <class T>
void cross_entropy_backward(device_state&, std::size_t rows, std::size_t cols, const T* logits,
                            const std::int64_t* labels, std::int64_t ignore_index, const T* dloss, T* dlogits);
template <class T>
void kl_div(device_state&, std::size_t rows, std::size_t cols, const T* log_q, const T* log_p, T* out);
template <class T>
void kl_div_backward(device_state&, std::size_t rows, std::size_t cols, const T* log_q, const T* log_p,
                     const T* dout, T* dlog_q, T* dlog_p);

template <class T>
double squared_norm(device_state&, std::size_t n, const T* x);
template <class T>
void adamw(device_state&, std::size_t n, const detail::adamw_args& a, T* param, const T* grad, T* m, T* v);

/// Fused attention (kernels/attention.cuh): out and the row log-sum-exps; dq, dk, dv += their
/// gradients from them.
template <class T>
void attention_forward(device_state&, const fused_attention_args<T>& a, T* out, T* lse);
template <class T>
void attention_backward(device_state&, const fused_attention_args<T>& a, const T* out, const T* lse, const T* dout, T* dq, T* dk, T* dv);
template <class T>
void dropout(device_state&, std::size_t n, T p, rng_stream rng, const T* x, T* y, T* mask);
template <class T>
void fill_uniform(device_state&, std::size_t n, rng_stream rng, T lo, T hi, T* y);
template <class T>
void fill_normal(device_state&, std::size_t n, rng_stream rng, T mean, T stddev, T* y);

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
