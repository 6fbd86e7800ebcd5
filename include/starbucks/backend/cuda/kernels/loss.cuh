// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: cross-entropy with ignore-index and KL divergence (batchmean), with
// backward. Losses are written to device memory; totals accumulate in double.
#pragma once

#include "gather.cuh"
#include "rows.cuh"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

/// term[r] = logsumexp(logits[r]) - logits[r, label] for counted rows, 0 for ignored ones;
/// counted[r] = 1 or 0.
__global__ void cross_entropy_rows_kernel(std::size_t rows, std::size_t cols, const float* logits,
                                          const std::int64_t* labels, std::int64_t ignore_index, double* term,
                                          double* counted, error_slot* slot) {
    for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const std::int64_t label = labels[r];
        const bool skip = label == ignore_index;
        const bool bad = !skip && (label < 0 || static_cast<std::uint64_t>(label) >= cols);
        if (skip || bad) { // block-uniform: the whole block leaves together
            if (threadIdx.x == 0) {
                term[r] = 0.0;
                counted[r] = 0.0;
                if (bad) report_bad_index(slot, r);
            }
            continue;
        }
        const float lse = row_logsumexp(logits + r * cols, cols);
        if (threadIdx.x == 0) {
            term[r] = static_cast<double>(lse) - static_cast<double>(logits[r * cols + label]);
            counted[r] = 1.0;
        }
    }
}

/// out[0] = Σ a, out[1] = Σ b over n values, by one block.
__global__ void sum_two_kernel(std::size_t n, const double* a, const double* b, double* out) {
    double sa = 0.0, sb = 0.0;
    for (std::size_t i = threadIdx.x; i < n; i += blockDim.x) {
        sa += a[i];
        if (b) sb += b[i];
    }
    sa = block_sum(sa);
    sb = block_sum(sb);
    if (threadIdx.x == 0) {
        out[0] = sa;
        out[1] = sb;
    }
}

__global__ void cross_entropy_finish_kernel(const double* sums, float* loss) {
    *loss = sums[1] > 0.0 ? static_cast<float>(sums[0] / sums[1]) : NAN;
}

template <class T>
void cross_entropy(device_state& s, std::size_t rows, std::size_t cols, const T* logits, const std::int64_t* labels,
                   std::int64_t ignore_index, T* loss) {
    device_state::scratch parts(s, (2 * rows + 2) * sizeof(double));
    double* term = parts.as<double>();
    double* counted = term + rows;
    double* sums = counted + rows;
    if (rows)
        STARBUCKS_CUDA_LAUNCH(row_grid(rows), block_threads, s.stream(), cross_entropy_rows_kernel)(rows, cols, logits, labels,
                                                                                     ignore_index, term, counted, s.slot());
    STARBUCKS_CUDA_LAUNCH(1, block_threads, s.stream(), sum_two_kernel)(rows, term, counted, sums);
    STARBUCKS_CUDA_LAUNCH(1, 1, s.stream(), cross_entropy_finish_kernel)(sums, loss);
    check_launch("cross_entropy");
    s.capture(labels, index_check::cross_entropy_label, cols);
}

__global__ void count_labels_kernel(std::size_t rows, const std::int64_t* labels, std::int64_t ignore_index,
                                    double* count) {
    double n = 0.0;
    for (std::size_t r = threadIdx.x; r < rows; r += blockDim.x) n += labels[r] != ignore_index ? 1.0 : 0.0;
    n = block_sum(n);
    if (threadIdx.x == 0) *count = n;
}

__global__ void cross_entropy_backward_kernel(std::size_t rows, std::size_t cols, const float* logits,
                                              const std::int64_t* labels, std::int64_t ignore_index, const float* dloss,
                                              const double* count, float* dlogits, error_slot* slot) {
    if (*count == 0.0) return;
    const double g = static_cast<double>(*dloss) / *count;
    for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const std::int64_t label = labels[r];
        if (label == ignore_index) continue;
        if (label < 0 || static_cast<std::uint64_t>(label) >= cols) {
            if (threadIdx.x == 0) report_bad_index(slot, r);
            continue;
        }
        const float* lr = logits + r * cols;
        const float lse = row_logsumexp(lr, cols);
        for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) {
            const double p = exp(static_cast<double>(lr[c]) - lse);
            dlogits[r * cols + c] += static_cast<float>(g * (p - (static_cast<std::int64_t>(c) == label ? 1.0 : 0.0)));
        }
    }
}

template <class T>
void cross_entropy_backward(device_state& s, std::size_t rows, std::size_t cols, const T* logits,
                            const std::int64_t* labels, std::int64_t ignore_index, const T* dloss, T* dlogits) {
    if (!rows || !cols) return;
    device_state::scratch count(s, sizeof(double));
    STARBUCKS_CUDA_LAUNCH(1, block_threads, s.stream(), count_labels_kernel)(rows, labels, ignore_index, count.as<double>());
    STARBUCKS_CUDA_LAUNCH(row_grid(rows), block_threads, s.stream(), cross_entropy_backward_kernel)(
        rows, cols, logits, labels, ignore_index, dloss, count.as<double>(), dlogits, s.slot());
    check_launch("cross_entropy_backward");
    s.capture(labels, index_check::cross_entropy_label, cols);
}

/// total += Σ p (log p - log q) over the block's elements (p = 0 terms skipped).
__global__ void kl_div_kernel(std::size_t n, const float* log_q, const float* log_p, double* total) {
    double sum = 0.0;
    STARBUCKS_GRID_LOOP(i, n) {
        const double lp = log_p[i];
        if (lp != -INFINITY) sum += exp(lp) * (lp - static_cast<double>(log_q[i]));
    }
    sum = block_sum(sum);
    if (threadIdx.x == 0) atomicAdd(total, sum);
}

__global__ void divide_kernel(const double* total, double by, float* out) { *out = static_cast<float>(*total / by); }

template <class T>
void kl_div(device_state& s, std::size_t rows, std::size_t cols, const T* log_q, const T* log_p, T* out) {
    device_state::scratch total(s, sizeof(double));
    STARBUCKS_CUDA_CHECK(cudaMemsetAsync(total.p, 0, sizeof(double), s.stream()));
    if (rows && cols)
        STARBUCKS_CUDA_LAUNCH(grid_for(rows * cols), block_threads, s.stream(), kl_div_kernel)(rows * cols, log_q, log_p,
                                                                               total.as<double>());
    STARBUCKS_CUDA_LAUNCH(1, 1, s.stream(), divide_kernel)(total.as<double>(), static_cast<double>(rows), out);
    check_launch("kl_div");
}

__global__ void kl_div_backward_kernel(std::size_t n, double rows, const float* log_q, const float* log_p,
                                       const float* dout, float* dlog_q, float* dlog_p) {
    const double g = static_cast<double>(*dout) / rows;
    STARBUCKS_GRID_LOOP(i, n) {
        const double lp = log_p[i];
        if (lp == -INFINITY) continue;
        const double p = exp(lp);
        if (dlog_q) dlog_q[i] += static_cast<float>(-p * g);
        if (dlog_p) dlog_p[i] += static_cast<float>(p * (lp - static_cast<double>(log_q[i]) + 1.0) * g);
    }
}

template <class T>
void kl_div_backward(device_state& s, std::size_t rows, std::size_t cols, const T* log_q, const T* log_p,
                     const T* dout, T* dlog_q, T* dlog_p) {
    if (!rows || !cols) return;
    STARBUCKS_CUDA_LAUNCH(grid_for(rows * cols), block_threads, s.stream(), kl_div_backward_kernel)(
        rows * cols, static_cast<double>(rows), log_q, log_p, dout, dlog_q, dlog_p);
    check_launch("kl_div_backward");
}

template void cross_entropy<float>(device_state&, std::size_t, std::size_t, const float*, const std::int64_t*,
                                   std::int64_t, float*);
template void cross_entropy_backward<float>(device_state&, std::size_t, std::size_t, const float*,
                                            const std::int64_t*, std::int64_t, const float*, float*);
template void kl_div<float>(device_state&, std::size_t, std::size_t, const float*, const float*, float*);
template void kl_div_backward<float>(device_state&, std::size_t, std::size_t, const float*, const float*,
                                     const float*, float*, float*);

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
