// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: fills, strided copy / accumulate, conversions, unary functions with
// their derivatives, broadcast binary ops.
#pragma once

#include "common.cuh"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

template <class T>
__global__ void fill_kernel(std::size_t n, T value, T* y) {
    STARBUCKS_GRID_LOOP(i, n) y[i] = value;
}

template <class T>
void fill(device_state& s, std::size_t n, T value, T* y) {
    if (!n) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(n), block_threads, s.stream(), fill_kernel)(n, value, y);
    check_launch("fill");
}

template <class T>
__global__ void copy_kernel(strided_walk w, T* dst, const T* src) {
    STARBUCKS_GRID_LOOP(i, w.size) {
        std::ptrdiff_t o[2];
        w.offsets(i, o, 2);
        dst[o[0]] = src[o[1]];
    }
}

template <class T>
void copy(device_state& s, const strided<T>& dst, const strided<const T>& src) {
    const strided_walk w = make_walk(src.lay.dims, &dst.lay, &src.lay);
    if (!w.size) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(w.size), block_threads, s.stream(), copy_kernel)(w, dst.data, src.data);
    check_launch("copy");
}

template <class T, bool Atomic>
__global__ void accumulate_kernel(strided_walk w, T* dst, const T* src, T alpha) {
    STARBUCKS_GRID_LOOP(i, w.size) {
        std::ptrdiff_t o[2];
        w.offsets(i, o, 2);
        if constexpr (Atomic) atomicAdd(dst + o[0], alpha * src[o[1]]);
        else dst[o[0]] += alpha * src[o[1]];
    }
}

template <class T>
void accumulate(device_state& s, const strided<T>& dst, const strided<const T>& src, T alpha) {
    const strided_walk w = make_walk(src.lay.dims, &dst.lay, &src.lay);
    if (!w.size) return;
    // A stride-0 destination axis sums (broadcast gradients): those adds must be atomic.
    if (reduces(dst.lay)) STARBUCKS_CUDA_LAUNCH(grid_for(w.size), block_threads, s.stream(), accumulate_kernel<T, true>)(w, dst.data, src.data, alpha);
    else STARBUCKS_CUDA_LAUNCH(grid_for(w.size), block_threads, s.stream(), accumulate_kernel<T, false>)(w, dst.data, src.data, alpha);
    check_launch("accumulate");
}

template <class S, class D>
__device__ D convert_one(S x) {
    if constexpr (std::is_same_v<S, bf16> && std::is_same_v<D, bf16>) return x;
    else if constexpr (std::is_same_v<D, bf16>) return float_to_bf16(static_cast<float>(x));
    else if constexpr (std::is_same_v<S, bf16>) return static_cast<D>(bf16_to_float(x));
    else return static_cast<D>(x);
}

template <class S, class D>
__global__ void convert_kernel(std::size_t n, const S* x, D* y) {
    STARBUCKS_GRID_LOOP(i, n) y[i] = convert_one<S, D>(x[i]);
}

template <class S, class D>
void convert(device_state& s, std::size_t n, const S* x, D* y) {
    if (!n) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(n), block_threads, s.stream(), convert_kernel<S, D>)(n, x, y);
    check_launch("convert");
}

/// erf-GELU and its derivative, in the reference's float arithmetic.
__device__ inline float gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
__device__ inline float gelu_derivative(float x) {
    const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    const float pdf = expf(-0.5f * x * x) * 0.39894228040143268f;
    return cdf + x * pdf;
}

__device__ inline float apply_unary(unary_op op, float x, float param) {
    switch (op) {
    case unary_op::neg: return -x;
    case unary_op::exp: return expf(x);
    case unary_op::log: return logf(x);
    case unary_op::tanh: return tanhf(x);
    case unary_op::gelu: return gelu(x);
    case unary_op::square: return x * x;
    case unary_op::sqrt: return sqrtf(x);
    case unary_op::scale: return param * x;
    }
    return x;
}

__device__ inline float unary_derivative(unary_op op, float x, float y, float param) {
    switch (op) {
    case unary_op::neg: return -1.0f;
    case unary_op::exp: return y;
    case unary_op::log: return 1.0f / x;
    case unary_op::tanh: return 1.0f - y * y;
    case unary_op::gelu: return gelu_derivative(x);
    case unary_op::square: return 2.0f * x;
    case unary_op::sqrt: return 0.5f / y;
    case unary_op::scale: return param;
    }
    return 0.0f;
}

__global__ void unary_kernel(unary_op op, std::size_t n, const float* x, float* y, float param) {
    STARBUCKS_GRID_LOOP(i, n) y[i] = apply_unary(op, x[i], param);
}

__global__ void unary_backward_kernel(unary_op op, std::size_t n, const float* x, const float* y, const float* dy,
                                      float* dx, float param) {
    STARBUCKS_GRID_LOOP(i, n) dx[i] += dy[i] * unary_derivative(op, x ? x[i] : 0.0f, y ? y[i] : 0.0f, param);
}

template <class T>
void unary(device_state& s, unary_op op, std::size_t n, const T* x, T* y, T param) {
    if (!n) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(n), block_threads, s.stream(), unary_kernel)(op, n, x, y, param);
    check_launch("unary");
}

template <class T>
void unary_backward(device_state& s, unary_op op, std::size_t n, const T* x, const T* y, const T* dy, T* dx, T param) {
    if (!n) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(n), block_threads, s.stream(), unary_backward_kernel)(op, n, x, y, dy, dx, param);
    check_launch("unary_backward");
}

__device__ inline float combine(binary_op op, float a, float b) {
    switch (op) {
    case binary_op::add: return a + b;
    case binary_op::sub: return a - b;
    case binary_op::mul: return a * b;
    case binary_op::div: return a / b;
    }
    return 0.0f;
}

template <int Mode> // 0: assign, 1: add, 2: atomic add
__global__ void binary_kernel(binary_op op, strided_walk w, float* out, const float* a, const float* b) {
    STARBUCKS_GRID_LOOP(i, w.size) {
        std::ptrdiff_t o[3];
        w.offsets(i, o, 3);
        const float r = combine(op, a[o[1]], b[o[2]]);
        if constexpr (Mode == 0) out[o[0]] = r;
        else if constexpr (Mode == 1) out[o[0]] += r;
        else atomicAdd(out + o[0], r);
    }
}

template <class T>
void binary(device_state& s, binary_op op, const strided<T>& out, const strided<const T>& a, const strided<const T>& b,
            bool accumulate) {
    const strided_walk w = make_walk(out.lay.dims, &out.lay, &a.lay, &b.lay);
    if (!w.size) return;
    const unsigned g = grid_for(w.size);
    if (!accumulate) STARBUCKS_CUDA_LAUNCH(g, block_threads, s.stream(), binary_kernel<0>)(op, w, out.data, a.data, b.data);
    else if (reduces(out.lay)) STARBUCKS_CUDA_LAUNCH(g, block_threads, s.stream(), binary_kernel<2>)(op, w, out.data, a.data, b.data);
    else STARBUCKS_CUDA_LAUNCH(g, block_threads, s.stream(), binary_kernel<1>)(op, w, out.data, a.data, b.data);
    check_launch("binary");
}

// The element types host code may name (cuda.hpp's static_asserts allow exactly these).
template void fill<float>(device_state&, std::size_t, float, float*);
template void fill<bf16>(device_state&, std::size_t, bf16, bf16*);
template void fill<std::int64_t>(device_state&, std::size_t, std::int64_t, std::int64_t*);
template void fill<std::int32_t>(device_state&, std::size_t, std::int32_t, std::int32_t*);
template void fill<std::uint8_t>(device_state&, std::size_t, std::uint8_t, std::uint8_t*);
template void copy<float>(device_state&, const strided<float>&, const strided<const float>&);
template void copy<bf16>(device_state&, const strided<bf16>&, const strided<const bf16>&);
template void copy<std::int64_t>(device_state&, const strided<std::int64_t>&, const strided<const std::int64_t>&);
template void copy<std::int32_t>(device_state&, const strided<std::int32_t>&, const strided<const std::int32_t>&);
template void copy<std::uint8_t>(device_state&, const strided<std::uint8_t>&, const strided<const std::uint8_t>&);
template void accumulate<float>(device_state&, const strided<float>&, const strided<const float>&, float);
template void convert<float, float>(device_state&, std::size_t, const float*, float*);
template void convert<float, bf16>(device_state&, std::size_t, const float*, bf16*);
template void convert<bf16, float>(device_state&, std::size_t, const bf16*, float*);
template void convert<bf16, bf16>(device_state&, std::size_t, const bf16*, bf16*);
template void convert<std::int64_t, float>(device_state&, std::size_t, const std::int64_t*, float*);
template void convert<std::int32_t, float>(device_state&, std::size_t, const std::int32_t*, float*);
template void convert<std::uint8_t, float>(device_state&, std::size_t, const std::uint8_t*, float*);
template void convert<std::int64_t, bf16>(device_state&, std::size_t, const std::int64_t*, bf16*);
template void convert<std::int32_t, bf16>(device_state&, std::size_t, const std::int32_t*, bf16*);
template void convert<std::uint8_t, bf16>(device_state&, std::size_t, const std::uint8_t*, bf16*);
template void unary<float>(device_state&, unary_op, std::size_t, const float*, float*, float);
template void unary_backward<float>(device_state&, unary_op, std::size_t, const float*, const float*, const float*,
                                    float*, float);
template void binary<float>(device_state&, binary_op, const strided<float>&, const strided<const float>&,
                            const strided<const float>&, bool);

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
