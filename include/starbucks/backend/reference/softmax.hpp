// SPDX-License-Identifier: Apache-2.0
// Reference backend: softmax, log-softmax and log-sum-exp over the last axis, with backward.
#pragma once

#include <cmath>
#include <limits>

#include "../concepts.hpp"
#include "detail/rows.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct reference_softmax {
    /// Row-wise softmax (or log-softmax) of a contiguous (rows, cols) matrix. Max-shifted; a row
    /// that is all -inf (fully masked) gives zeros (log: -inf) instead of NaN.
    template <class C, class T>
    static void softmax(C&, std::size_t rows, std::size_t cols, const T* x, T* y, bool log) {
        for (std::size_t r = 0; r < rows; ++r) {
            const T* xr = x + r * cols;
            T* yr = y + r * cols;
            const acc_t<T> lse = row_logsumexp(xr, cols);
            for (std::size_t c = 0; c < cols; ++c) {
                if (lse == -std::numeric_limits<acc_t<T>>::infinity()) yr[c] = log ? T(lse) : T(0);
                else yr[c] = log ? T(acc_t<T>(xr[c]) - lse) : T(std::exp(acc_t<T>(xr[c]) - lse));
            }
        }
    }

    /// softmax: dx += y * (dy - <dy, y>); log-softmax: dx += dy - exp(y) * sum(dy).
    template <class C, class T>
    static void softmax_backward(C&, std::size_t rows, std::size_t cols, const T* y, const T* dy, T* dx, bool log) {
        for (std::size_t r = 0; r < rows; ++r) {
            const T* yr = y + r * cols;
            const T* gr = dy + r * cols;
            T* dr = dx + r * cols;
            acc_t<T> s = 0;
            for (std::size_t c = 0; c < cols; ++c) s += log ? acc_t<T>(gr[c]) : acc_t<T>(gr[c]) * yr[c];
            for (std::size_t c = 0; c < cols; ++c) {
                if (log) dr[c] += T(gr[c] - std::exp(acc_t<T>(yr[c])) * s);
                else dr[c] += T(yr[c] * (gr[c] - s));
            }
        }
    }

    /// y[r] = log(sum_c exp(x[r, c])); -inf for an all -inf row.
    template <class C, class T>
    static void logsumexp(C&, std::size_t rows, std::size_t cols, const T* x, T* y) {
        for (std::size_t r = 0; r < rows; ++r) y[r] = T(row_logsumexp(x + r * cols, cols));
    }

    /// dx[r, c] += dy[r] * exp(x[r, c] - y[r]).
    template <class C, class T>
    static void logsumexp_backward(C&, std::size_t rows, std::size_t cols, const T* x, const T* y, const T* dy, T* dx) {
        for (std::size_t r = 0; r < rows; ++r) {
            if (y[r] == -std::numeric_limits<T>::infinity()) continue;
            for (std::size_t c = 0; c < cols; ++c)
                dx[r * cols + c] += T(dy[r] * std::exp(acc_t<T>(x[r * cols + c]) - y[r]));
        }
    }

};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
