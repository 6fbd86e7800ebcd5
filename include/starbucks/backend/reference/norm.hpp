// SPDX-License-Identifier: Apache-2.0
// Reference backend: layer normalisation and L2 normalisation over the last axis, with backward.
#pragma once

#include <algorithm>
#include <cmath>

#include "../concepts.hpp"
#include "detail/strided_loop.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct reference_norm {
    /// y = (x - mean) * rstd * gamma + beta per row (biased variance, as BERT); saves mean and
    /// rstd per row for the backward pass.
    template <class C, class T>
    static void layer_norm(C&, std::size_t rows, std::size_t cols, const T* x, const T* gamma, const T* beta, T eps,
                           T* y, T* mean, T* rstd) {
        for (std::size_t r = 0; r < rows; ++r) {
            const T* xr = x + r * cols;
            acc_t<T> mu = 0;
            for (std::size_t c = 0; c < cols; ++c) mu += xr[c];
            mu /= acc_t<T>(cols);
            acc_t<T> var = 0;
            for (std::size_t c = 0; c < cols; ++c) var += (xr[c] - mu) * (xr[c] - mu);
            var /= acc_t<T>(cols);
            const acc_t<T> rs = 1 / std::sqrt(var + acc_t<T>(eps));
            for (std::size_t c = 0; c < cols; ++c) y[r * cols + c] = T((xr[c] - mu) * rs * gamma[c] + beta[c]);
            mean[r] = T(mu);
            rstd[r] = T(rs);
        }
    }

    /// dx += rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma;
    /// dgamma += sum_rows dy * xhat; dbeta += sum_rows dy.
    template <class C, class T>
    static void layer_norm_backward(C&, std::size_t rows, std::size_t cols, const T* x, const T* gamma, const T* mean,
                                    const T* rstd, const T* dy, T* dx, T* dgamma, T* dbeta) {
        for (std::size_t r = 0; r < rows; ++r) {
            const T* xr = x + r * cols;
            const T* gr = dy + r * cols;
            acc_t<T> mean_g = 0, mean_gx = 0;
            for (std::size_t c = 0; c < cols; ++c) {
                const acc_t<T> xhat = (acc_t<T>(xr[c]) - mean[r]) * rstd[r];
                const acc_t<T> g = acc_t<T>(gr[c]) * gamma[c];
                mean_g += g;
                mean_gx += g * xhat;
                if (dgamma) dgamma[c] += T(gr[c] * xhat);
                if (dbeta) dbeta[c] += gr[c];
            }
            mean_g /= acc_t<T>(cols);
            mean_gx /= acc_t<T>(cols);
            if (!dx) continue;
            for (std::size_t c = 0; c < cols; ++c) {
                const acc_t<T> xhat = (acc_t<T>(xr[c]) - mean[r]) * rstd[r];
                const acc_t<T> g = acc_t<T>(gr[c]) * gamma[c];
                dx[r * cols + c] += T(rstd[r] * (g - mean_g - xhat * mean_gx));
            }
        }
    }

    /// y = x / max(||x||, eps) per row, as torch.nn.functional.normalize.
    template <class C, class T>
    static void l2_normalize(C&, std::size_t rows, std::size_t cols, const T* x, T eps, T* y) {
        for (std::size_t r = 0; r < rows; ++r) {
            const acc_t<T> d = std::max(row_norm(x + r * cols, cols), acc_t<T>(eps));
            for (std::size_t c = 0; c < cols; ++c) y[r * cols + c] = T(x[r * cols + c] / d);
        }
    }

    /// dx += (dy - y <y, dy>) / ||x|| where ||x|| > eps; dx += dy / eps where the clamp is active.
    template <class C, class T>
    static void l2_normalize_backward(C&, std::size_t rows, std::size_t cols, const T* x, const T* y, T eps,
                                      const T* dy, T* dx) {
        for (std::size_t r = 0; r < rows; ++r) {
            const acc_t<T> n = row_norm(x + r * cols, cols);
            if (n <= acc_t<T>(eps)) {
                for (std::size_t c = 0; c < cols; ++c) dx[r * cols + c] += T(dy[r * cols + c] / acc_t<T>(eps));
                continue;
            }
            acc_t<T> dot = 0;
            for (std::size_t c = 0; c < cols; ++c) dot += acc_t<T>(y[r * cols + c]) * dy[r * cols + c];
            for (std::size_t c = 0; c < cols; ++c) dx[r * cols + c] += T((dy[r * cols + c] - y[r * cols + c] * dot) / n);
        }
    }

private:
    template <class T>
    static acc_t<T> row_norm(const T* x, std::size_t cols) {
        acc_t<T> s = 0;
        for (std::size_t c = 0; c < cols; ++c) s += acc_t<T>(x[c]) * x[c];
        return std::sqrt(s);
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
