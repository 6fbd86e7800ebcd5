// SPDX-License-Identifier: Apache-2.0
// Row-parallel CPU kernels shared by the fast host backends: softmax, log-sum-exp, layer norm,
// L2 normalisation (forward and backward). Each row is computed by one thread in a fixed order,
// so results do not depend on the thread count; column reductions (dgamma, dbeta) are summed
// per fixed chunk of rows and then in chunk order.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../concepts.hpp"
#include "parallel.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct cpu_rows {
    template <class C, class T>
    static void softmax(C&, std::size_t rows, std::size_t cols, const T* x, T* y, bool log) {
        parallel_chunks(rows, 16, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const T* xr = x + r * cols;
                T* yr = y + r * cols;
                const T lse = row_logsumexp(xr, cols);
                if (lse == -std::numeric_limits<T>::infinity()) {
                    std::fill(yr, yr + cols, log ? lse : T(0));
                    continue;
                }
                if (log)
                    for (std::size_t c = 0; c < cols; ++c) yr[c] = xr[c] - lse;
                else
                    for (std::size_t c = 0; c < cols; ++c) yr[c] = std::exp(xr[c] - lse);
            }
        });
    }

    template <class C, class T>
    static void softmax_backward(C&, std::size_t rows, std::size_t cols, const T* y, const T* dy, T* dx, bool log) {
        parallel_chunks(rows, 16, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const T* yr = y + r * cols;
                const T* gr = dy + r * cols;
                T* dr = dx + r * cols;
                T s = 0;
                if (log) {
                    for (std::size_t c = 0; c < cols; ++c) s += gr[c];
                    for (std::size_t c = 0; c < cols; ++c) dr[c] += gr[c] - std::exp(yr[c]) * s;
                } else {
                    for (std::size_t c = 0; c < cols; ++c) s += gr[c] * yr[c];
                    for (std::size_t c = 0; c < cols; ++c) dr[c] += yr[c] * (gr[c] - s);
                }
            }
        });
    }

    template <class C, class T>
    static void logsumexp(C&, std::size_t rows, std::size_t cols, const T* x, T* y) {
        parallel_chunks(rows, 64, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) y[r] = row_logsumexp(x + r * cols, cols);
        });
    }

    template <class C, class T>
    static void logsumexp_backward(C&, std::size_t rows, std::size_t cols, const T* x, const T* y, const T* dy, T* dx) {
        parallel_chunks(rows, 64, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                if (y[r] == -std::numeric_limits<T>::infinity()) continue;
                for (std::size_t c = 0; c < cols; ++c) dx[r * cols + c] += dy[r] * std::exp(x[r * cols + c] - y[r]);
            }
        });
    }

    template <class C, class T>
    static void layer_norm(C&, std::size_t rows, std::size_t cols, const T* x, const T* gamma, const T* beta, T eps, T* y,
                           T* mean, T* rstd) {
        parallel_chunks(rows, 16, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const T* xr = x + r * cols;
                T mu = 0;
                for (std::size_t c = 0; c < cols; ++c) mu += xr[c];
                mu /= T(cols);
                T var = 0; // two-pass: no cancellation for rows with a large mean
                for (std::size_t c = 0; c < cols; ++c) var += (xr[c] - mu) * (xr[c] - mu);
                var /= T(cols);
                const T rs = T(1) / std::sqrt(var + eps);
                T* yr = y + r * cols;
                for (std::size_t c = 0; c < cols; ++c) yr[c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
                mean[r] = mu;
                rstd[r] = rs;
            }
        });
    }

    template <class C, class T>
    static void layer_norm_backward(C&, std::size_t rows, std::size_t cols, const T* x, const T* gamma, const T* mean,
                                    const T* rstd, const T* dy, T* dx, T* dgamma, T* dbeta) {
        constexpr std::size_t chunk = 64;
        const std::size_t chunks = (rows + chunk - 1) / chunk;
        // Per-chunk partial column sums, added in chunk order afterwards: deterministic.
        std::vector<T> partial_g((dgamma ? chunks : 0) * cols, T(0)), partial_b((dbeta ? chunks : 0) * cols, T(0));
        parallel_chunks(rows, chunk, [&](std::size_t r0, std::size_t r1) {
            const std::size_t k = r0 / chunk;
            for (std::size_t r = r0; r < r1; ++r) {
                const T* xr = x + r * cols;
                const T* gr = dy + r * cols;
                T mean_g = 0, mean_gx = 0;
                for (std::size_t c = 0; c < cols; ++c) {
                    const T xhat = (xr[c] - mean[r]) * rstd[r];
                    const T g = gr[c] * gamma[c];
                    mean_g += g;
                    mean_gx += g * xhat;
                    if (dgamma) partial_g[k * cols + c] += gr[c] * xhat;
                    if (dbeta) partial_b[k * cols + c] += gr[c];
                }
                mean_g /= T(cols);
                mean_gx /= T(cols);
                if (!dx) continue;
                for (std::size_t c = 0; c < cols; ++c) {
                    const T xhat = (xr[c] - mean[r]) * rstd[r];
                    dx[r * cols + c] += rstd[r] * (gr[c] * gamma[c] - mean_g - xhat * mean_gx);
                }
            }
        });
        for (std::size_t k = 0; k < chunks; ++k)
            for (std::size_t c = 0; c < cols; ++c) {
                if (dgamma) dgamma[c] += partial_g[k * cols + c];
                if (dbeta) dbeta[c] += partial_b[k * cols + c];
            }
    }

    template <class C, class T>
    static void l2_normalize(C&, std::size_t rows, std::size_t cols, const T* x, T eps, T* y) {
        parallel_chunks(rows, 64, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const T d = std::max(row_norm(x + r * cols, cols), eps);
                for (std::size_t c = 0; c < cols; ++c) y[r * cols + c] = x[r * cols + c] / d;
            }
        });
    }

    template <class C, class T>
    static void l2_normalize_backward(C&, std::size_t rows, std::size_t cols, const T* x, const T* y, T eps, const T* dy,
                                      T* dx) {
        parallel_chunks(rows, 64, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const T n = row_norm(x + r * cols, cols);
                if (n <= eps) {
                    for (std::size_t c = 0; c < cols; ++c) dx[r * cols + c] += dy[r * cols + c] / eps;
                    continue;
                }
                T dot = 0;
                for (std::size_t c = 0; c < cols; ++c) dot += y[r * cols + c] * dy[r * cols + c];
                for (std::size_t c = 0; c < cols; ++c) dx[r * cols + c] += (dy[r * cols + c] - y[r * cols + c] * dot) / n;
            }
        });
    }

private:
    template <class T>
    static T row_logsumexp(const T* x, std::size_t cols) {
        T m = -std::numeric_limits<T>::infinity();
        for (std::size_t c = 0; c < cols; ++c) m = std::max(m, x[c]);
        if (m == -std::numeric_limits<T>::infinity() || std::isnan(m)) return m;
        T s = 0;
        for (std::size_t c = 0; c < cols; ++c) s += std::exp(x[c] - m);
        return m + std::log(s);
    }
    template <class T>
    static T row_norm(const T* x, std::size_t cols) {
        T s = 0;
        for (std::size_t c = 0; c < cols; ++c) s += x[c] * x[c];
        return std::sqrt(s);
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
