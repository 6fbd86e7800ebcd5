// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: dropout and random fills from the same Philox words as the host
// backends, element by element, so a seed gives the same mask and the same initial weights.
#pragma once

#include "common.cuh"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

__global__ void dropout_kernel(std::size_t n, float p, rng_stream rng, const float* x, float* y, float* mask) {
    const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    STARBUCKS_GRID_LOOP(i, n) {
        const float m = rng_stream::to_uniform(rng.bits(i)) >= p ? keep_scale : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

// __fmul_rn / __fadd_rn keep nvcc from fusing into an FMA, so the bits equal the host's.
__global__ void fill_uniform_kernel(std::size_t n, rng_stream rng, float lo, float hi, float* y) {
    STARBUCKS_GRID_LOOP(i, n) y[i] = __fadd_rn(lo, __fmul_rn(hi - lo, static_cast<float>(rng.uniform_double(i))));
}

__global__ void fill_normal_kernel(std::size_t n, rng_stream rng, float mean, float stddev, float* y) {
    STARBUCKS_GRID_LOOP(i, n) {
        const double u1 = 1.0 - rng.uniform_double(2 * i);
        const double u2 = rng.uniform_double(2 * i + 1);
        const double z = sqrt(-2.0 * log(u1)) * cos(2.0 * 3.141592653589793 * u2);
        y[i] = __fadd_rn(mean, __fmul_rn(stddev, static_cast<float>(z)));
    }
}

template <class T>
void dropout(device_state& s, std::size_t n, T p, rng_stream rng, const T* x, T* y, T* mask) {
    if (!n) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(n), block_threads, s.stream(), dropout_kernel)(n, p, rng, x, y, mask);
    check_launch("dropout");
}
template <class T>
void fill_uniform(device_state& s, std::size_t n, rng_stream rng, T lo, T hi, T* y) {
    if (!n) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(n), block_threads, s.stream(), fill_uniform_kernel)(n, rng, lo, hi, y);
    check_launch("fill_uniform");
}
template <class T>
void fill_normal(device_state& s, std::size_t n, rng_stream rng, T mean, T stddev, T* y) {
    if (!n) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(n), block_threads, s.stream(), fill_normal_kernel)(n, rng, mean, stddev, y);
    check_launch("fill_normal");
}

template void dropout<float>(device_state&, std::size_t, float, rng_stream, const float*, float*, float*);
template void fill_uniform<float>(device_state&, std::size_t, rng_stream, float, float, float*);
template void fill_normal<float>(device_state&, std::size_t, rng_stream, float, float, float*);

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
