// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: the squared norm (gradient clipping) and the fused AdamW update, in
// double like the reference.
#pragma once

#include <cmath>

#include "common.cuh"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

__global__ void squared_norm_kernel(std::size_t n, const float* x, double* total) {
    double s = 0.0;
    STARBUCKS_GRID_LOOP(i, n) s += static_cast<double>(x[i]) * x[i];
    s = block_sum(s);
    if (threadIdx.x == 0) atomicAdd(total, s);
}

template <class T>
double squared_norm(device_state& s, std::size_t n, const T* x) {
    if (!n) return 0.0;
    device_state::scratch total(s, sizeof(double));
    STARBUCKS_CUDA_CHECK(cudaMemsetAsync(total.p, 0, sizeof(double), s.stream()));
    STARBUCKS_CUDA_LAUNCH(grid_for(n), block_threads, s.stream(), squared_norm_kernel)(n, x, total.as<double>());
    check_launch("squared_norm");
    double host = 0.0;
    download(s, &host, total.p, sizeof host);
    return host;
}

__global__ void adamw_kernel(std::size_t n, double lr, double beta1, double beta2, double eps, double weight_decay,
                             double bc1, double bc2, float* param, const float* grad, float* m, float* v) {
    STARBUCKS_GRID_LOOP(i, n) {
        const double g = grad[i];
        double p = static_cast<double>(param[i]) * (1 - lr * weight_decay);
        const double mi = beta1 * m[i] + (1 - beta1) * g;
        const double vi = beta2 * v[i] + (1 - beta2) * g * g;
        p -= lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
        m[i] = static_cast<float>(mi);
        v[i] = static_cast<float>(vi);
        param[i] = static_cast<float>(p);
    }
}

template <class T>
void adamw(device_state& s, std::size_t n, const detail::adamw_args& a, T* param, const T* grad, T* m, T* v) {
    if (!n) return;
    const double bc1 = 1 - std::pow(a.beta1, double(a.step));
    const double bc2 = 1 - std::pow(a.beta2, double(a.step));
    STARBUCKS_CUDA_LAUNCH(grid_for(n), block_threads, s.stream(), adamw_kernel)(n, a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, bc1,
                                                                bc2, param, grad, m, v);
    check_launch("adamw");
}

template double squared_norm<float>(device_state&, std::size_t, const float*);
template void adamw<float>(device_state&, std::size_t, const detail::adamw_args&, float*, const float*, float*, float*);

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
