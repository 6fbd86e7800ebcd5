// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: kernels over the rows of a matrix, one block per row (softmax,
// log-sum-exp, layer norm, L2 normalisation) and masked mean pooling.
#pragma once

#include "common.cuh"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

/// log(sum(exp(row))), max-shifted; -inf for an all -inf row. Every thread of the block gets it.
__device__ inline float row_logsumexp(const float* x, std::size_t cols) {
    float m = -INFINITY;
    for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, x[c]);
    m = block_max(m);
    if (m == -INFINITY) return m;
    float s = 0.0f;
    for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) s += expf(x[c] - m);
    return m + logf(block_sum(s));
}

__global__ void softmax_kernel(std::size_t rows, std::size_t cols, const float* x, float* y, bool log) {
    for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * cols;
        float* yr = y + r * cols;
        const float lse = row_logsumexp(xr, cols);
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) {
            if (lse == -INFINITY) yr[c] = log ? lse : 0.0f;
            else yr[c] = log ? xr[c] - lse : expf(xr[c] - lse);
        }
    }
}

__global__ void softmax_backward_kernel(std::size_t rows, std::size_t cols, const float* y, const float* dy, float* dx,
                                        bool log) {
    for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* yr = y + r * cols;
        const float* gr = dy + r * cols;
        float* dr = dx + r * cols;
        float s = 0.0f;
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) s += log ? gr[c] : gr[c] * yr[c];
        s = block_sum(s);
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) {
            if (log) dr[c] += gr[c] - expf(yr[c]) * s;
            else dr[c] += yr[c] * (gr[c] - s);
        }
    }
}

__global__ void logsumexp_kernel(std::size_t rows, std::size_t cols, const float* x, float* y) {
    for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float lse = row_logsumexp(x + r * cols, cols);
        if (threadIdx.x == 0) y[r] = lse;
    }
}

__global__ void logsumexp_backward_kernel(std::size_t rows, std::size_t cols, const float* x, const float* y,
                                          const float* dy, float* dx) {
    STARBUCKS_GRID_LOOP(i, rows * cols) {
        const std::size_t r = i / cols;
        if (y[r] != -INFINITY) dx[i] += dy[r] * expf(x[i] - y[r]);
    }
}

__global__ void layer_norm_kernel(std::size_t rows, std::size_t cols, const float* x, const float* gamma,
                                  const float* beta, float eps, float* y, float* mean, float* rstd) {
    for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * cols;
        float s = 0.0f;
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c];
        const float mu = block_sum(s) / static_cast<float>(cols);
        float v = 0.0f;
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) v += (xr[c] - mu) * (xr[c] - mu);
        const float rs = rsqrtf(block_sum(v) / static_cast<float>(cols) + eps);
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) y[r * cols + c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
        if (threadIdx.x == 0) {
            mean[r] = mu;
            rstd[r] = rs;
        }
    }
}

__global__ void layer_norm_backward_dx_kernel(std::size_t rows, std::size_t cols, const float* x, const float* gamma,
                                              const float* mean, const float* rstd, const float* dy, float* dx) {
    for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * cols;
        const float* gr = dy + r * cols;
        float sg = 0.0f, sgx = 0.0f;
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) {
            const float xhat = (xr[c] - mean[r]) * rstd[r];
            const float g = gr[c] * gamma[c];
            sg += g;
            sgx += g * xhat;
        }
        const float mean_g = block_sum(sg) / static_cast<float>(cols);
        const float mean_gx = block_sum(sgx) / static_cast<float>(cols);
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) {
            const float xhat = (xr[c] - mean[r]) * rstd[r];
            dx[r * cols + c] += rstd[r] * (gr[c] * gamma[c] - mean_g - xhat * mean_gx);
        }
    }
}

/// dgamma[c] += Σ_r dy·xhat, dbeta[c] += Σ_r dy: a 32-column × 8-lane block sums a chunk of rows,
/// then adds its partial sums atomically.
constexpr unsigned column_rows_per_block = 256;
__global__ void layer_norm_backward_params_kernel(std::size_t rows, std::size_t cols, const float* x,
                                                  const float* mean, const float* rstd, const float* dy, float* dgamma,
                                                  float* dbeta) {
    __shared__ float sums[2][8][33];
    const std::size_t c = blockIdx.x * 32u + threadIdx.x;
    const std::size_t r0 = blockIdx.y * std::size_t{column_rows_per_block};
    const std::size_t r1 = r0 + column_rows_per_block < rows ? r0 + column_rows_per_block : rows;
    float sg = 0.0f, sb = 0.0f;
    if (c < cols)
        for (std::size_t r = r0 + threadIdx.y; r < r1; r += 8) {
            const float g = dy[r * cols + c];
            sg += g * (x[r * cols + c] - mean[r]) * rstd[r];
            sb += g;
        }
    sums[0][threadIdx.y][threadIdx.x] = sg;
    sums[1][threadIdx.y][threadIdx.x] = sb;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        for (int k = 1; k < 8; ++k) {
            sg += sums[0][k][threadIdx.x];
            sb += sums[1][k][threadIdx.x];
        }
        if (dgamma) atomicAdd(dgamma + c, sg);
        if (dbeta) atomicAdd(dbeta + c, sb);
    }
}

__device__ inline float row_norm(const float* x, std::size_t cols) {
    float s = 0.0f;
    for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) s += x[c] * x[c];
    return sqrtf(block_sum(s));
}

__global__ void l2_normalize_kernel(std::size_t rows, std::size_t cols, const float* x, float eps, float* y) {
    for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float d = fmaxf(row_norm(x + r * cols, cols), eps);
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) y[r * cols + c] = x[r * cols + c] / d;
    }
}

__global__ void l2_normalize_backward_kernel(std::size_t rows, std::size_t cols, const float* x, const float* y,
                                             float eps, const float* dy, float* dx) {
    for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float n = row_norm(x + r * cols, cols);
        if (n <= eps) { // the clamp is active: y = x / eps
            for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) dx[r * cols + c] += dy[r * cols + c] / eps;
            continue;
        }
        float dot = 0.0f;
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) dot += y[r * cols + c] * dy[r * cols + c];
        dot = block_sum(dot);
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x)
            dx[r * cols + c] += (dy[r * cols + c] - y[r * cols + c] * dot) / n;
    }
}

/// count[b] = max(Σ_t mask[b, t], 1e-9), as sentence-transformers clamps it.
__global__ void token_count_kernel(std::size_t batch, std::size_t tokens, const float* mask, float* count) {
    STARBUCKS_GRID_LOOP(b, batch) {
        float n = 0.0f;
        for (std::size_t t = 0; t < tokens; ++t) n += mask[b * tokens + t];
        count[b] = fmaxf(n, 1e-9f);
    }
}

__global__ void masked_mean_kernel(std::size_t batch, std::size_t tokens, std::size_t cols, const float* x,
                                   const float* mask, const float* count, float* y) {
    STARBUCKS_GRID_LOOP(i, batch * cols) {
        const std::size_t b = i / cols, c = i % cols;
        float s = 0.0f;
        for (std::size_t t = 0; t < tokens; ++t) s += mask[b * tokens + t] * x[(b * tokens + t) * cols + c];
        y[i] = s / count[b];
    }
}

__global__ void masked_mean_backward_kernel(std::size_t batch, std::size_t tokens, std::size_t cols, const float* mask,
                                            const float* count, const float* dy, float* dx) {
    STARBUCKS_GRID_LOOP(i, batch * tokens * cols) {
        const std::size_t c = i % cols, bt = i / cols, b = bt / tokens;
        dx[i] += mask[bt] / count[b] * dy[b * cols + c];
    }
}

/// Blocks for a one-block-per-row kernel.
inline unsigned row_grid(std::size_t rows) { return static_cast<unsigned>(rows < 65535u * 16u ? rows : 65535u * 16u); }

template <class T>
void softmax(device_state& s, std::size_t rows, std::size_t cols, const T* x, T* y, bool log) {
    if (!rows || !cols) return;
    STARBUCKS_CUDA_LAUNCH(row_grid(rows), block_threads, s.stream(), softmax_kernel)(rows, cols, x, y, log);
    check_launch("softmax");
}
template <class T>
void softmax_backward(device_state& s, std::size_t rows, std::size_t cols, const T* y, const T* dy, T* dx, bool log) {
    if (!rows || !cols) return;
    STARBUCKS_CUDA_LAUNCH(row_grid(rows), block_threads, s.stream(), softmax_backward_kernel)(rows, cols, y, dy, dx, log);
    check_launch("softmax_backward");
}
template <class T>
void logsumexp(device_state& s, std::size_t rows, std::size_t cols, const T* x, T* y) {
    if (!rows) return;
    STARBUCKS_CUDA_LAUNCH(row_grid(rows), block_threads, s.stream(), logsumexp_kernel)(rows, cols, x, y);
    check_launch("logsumexp");
}
template <class T>
void logsumexp_backward(device_state& s, std::size_t rows, std::size_t cols, const T* x, const T* y, const T* dy, T* dx) {
    if (!rows || !cols) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(rows * cols), block_threads, s.stream(), logsumexp_backward_kernel)(rows, cols, x, y, dy, dx);
    check_launch("logsumexp_backward");
}
template <class T>
void layer_norm(device_state& s, std::size_t rows, std::size_t cols, const T* x, const T* gamma, const T* beta, T eps,
                T* y, T* mean, T* rstd) {
    if (!rows || !cols) return;
    STARBUCKS_CUDA_LAUNCH(row_grid(rows), block_threads, s.stream(), layer_norm_kernel)(rows, cols, x, gamma, beta, eps, y, mean, rstd);
    check_launch("layer_norm");
}
template <class T>
void layer_norm_backward(device_state& s, std::size_t rows, std::size_t cols, const T* x, const T* gamma,
                         const T* mean, const T* rstd, const T* dy, T* dx, T* dgamma, T* dbeta) {
    if (!rows || !cols) return;
    if (dx) {
        STARBUCKS_CUDA_LAUNCH(row_grid(rows), block_threads, s.stream(), layer_norm_backward_dx_kernel)(rows, cols, x, gamma, mean,
                                                                                         rstd, dy, dx);
        check_launch("layer_norm_backward (dx)");
    }
    if (dgamma || dbeta) {
        const dim3 grid(static_cast<unsigned>((cols + 31) / 32),
                        static_cast<unsigned>((rows + column_rows_per_block - 1) / column_rows_per_block));
        STARBUCKS_CUDA_LAUNCH(grid, dim3(32, 8), s.stream(), layer_norm_backward_params_kernel)(rows, cols, x, mean, rstd, dy, dgamma,
                                                                                 dbeta);
        check_launch("layer_norm_backward (dgamma, dbeta)");
    }
}
template <class T>
void l2_normalize(device_state& s, std::size_t rows, std::size_t cols, const T* x, T eps, T* y) {
    if (!rows || !cols) return;
    STARBUCKS_CUDA_LAUNCH(row_grid(rows), block_threads, s.stream(), l2_normalize_kernel)(rows, cols, x, eps, y);
    check_launch("l2_normalize");
}
template <class T>
void l2_normalize_backward(device_state& s, std::size_t rows, std::size_t cols, const T* x, const T* y, T eps,
                           const T* dy, T* dx) {
    if (!rows || !cols) return;
    STARBUCKS_CUDA_LAUNCH(row_grid(rows), block_threads, s.stream(), l2_normalize_backward_kernel)(rows, cols, x, y, eps, dy, dx);
    check_launch("l2_normalize_backward");
}
template <class T>
void masked_mean(device_state& s, std::size_t batch, std::size_t tokens, std::size_t cols, const T* x, const T* mask,
                 T* y) {
    if (!batch || !cols) return;
    device_state::scratch count(s, batch * sizeof(float));
    STARBUCKS_CUDA_LAUNCH(grid_for(batch), block_threads, s.stream(), token_count_kernel)(batch, tokens, mask, count.as<float>());
    STARBUCKS_CUDA_LAUNCH(grid_for(batch * cols), block_threads, s.stream(), masked_mean_kernel)(batch, tokens, cols, x, mask,
                                                                                 count.as<float>(), y);
    check_launch("masked_mean");
}
template <class T>
void masked_mean_backward(device_state& s, std::size_t batch, std::size_t tokens, std::size_t cols, const T* mask,
                          const T* dy, T* dx) {
    if (!batch || !tokens || !cols) return;
    device_state::scratch count(s, batch * sizeof(float));
    STARBUCKS_CUDA_LAUNCH(grid_for(batch), block_threads, s.stream(), token_count_kernel)(batch, tokens, mask, count.as<float>());
    STARBUCKS_CUDA_LAUNCH(grid_for(batch * tokens * cols), block_threads, s.stream(), masked_mean_backward_kernel)(
        batch, tokens, cols, mask, count.as<float>(), dy, dx);
    check_launch("masked_mean_backward");
}

template void softmax<float>(device_state&, std::size_t, std::size_t, const float*, float*, bool);
template void softmax_backward<float>(device_state&, std::size_t, std::size_t, const float*, const float*, float*, bool);
template void logsumexp<float>(device_state&, std::size_t, std::size_t, const float*, float*);
template void logsumexp_backward<float>(device_state&, std::size_t, std::size_t, const float*, const float*,
                                        const float*, float*);
template void layer_norm<float>(device_state&, std::size_t, std::size_t, const float*, const float*, const float*,
                                float, float*, float*, float*);
template void layer_norm_backward<float>(device_state&, std::size_t, std::size_t, const float*, const float*,
                                         const float*, const float*, const float*, float*, float*, float*);
template void l2_normalize<float>(device_state&, std::size_t, std::size_t, const float*, float, float*);
template void l2_normalize_backward<float>(device_state&, std::size_t, std::size_t, const float*, const float*, float,
                                           const float*, float*);
template void masked_mean<float>(device_state&, std::size_t, std::size_t, std::size_t, const float*, const float*,
                                 float*);
template void masked_mean_backward<float>(device_state&, std::size_t, std::size_t, std::size_t, const float*,
                                          const float*, float*);

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
