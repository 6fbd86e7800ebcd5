// SPDX-License-Identifier: Apache-2.0
// Reference backend: cross-entropy with ignore-index and KL divergence (batchmean), with backward.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "../../core/error.hpp"
#include "../concepts.hpp"
#include "detail/rows.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct reference_loss {
    /// *loss = mean over rows with label != ignore_index of (logsumexp(logits[r]) - logits[r, label]).
    /// No counted row gives NaN, as torch.nn.functional.cross_entropy does.
    template <class C, class T>
    static void cross_entropy(C&, std::size_t rows, std::size_t cols, const T* logits, const std::int64_t* labels,
                              std::int64_t ignore_index, T* loss) {
        acc_t<T> total = 0;
        std::size_t count = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            if (labels[r] == ignore_index) continue;
            check_label(labels[r], r, cols);
            const T* lr = logits + r * cols;
            total += row_logsumexp(lr, cols) - acc_t<T>(lr[labels[r]]);
            ++count;
        }
        *loss = count ? T(total / acc_t<T>(count)) : std::numeric_limits<T>::quiet_NaN();
    }

    /// dlogits[r, :] += dloss * (softmax(logits[r]) - onehot(label)) / count.
    template <class C, class T>
    static void cross_entropy_backward(C&, std::size_t rows, std::size_t cols, const T* logits,
                                       const std::int64_t* labels, std::int64_t ignore_index, const T* dloss,
                                       T* dlogits) {
        std::size_t count = 0;
        for (std::size_t r = 0; r < rows; ++r) count += labels[r] != ignore_index;
        if (count == 0) return;
        const acc_t<T> g = acc_t<T>(*dloss) / acc_t<T>(count);
        for (std::size_t r = 0; r < rows; ++r) {
            if (labels[r] == ignore_index) continue;
            check_label(labels[r], r, cols);
            const T* lr = logits + r * cols;
            const acc_t<T> lse = row_logsumexp(lr, cols);
            for (std::size_t c = 0; c < cols; ++c) {
                const acc_t<T> p = std::exp(acc_t<T>(lr[c]) - lse);
                dlogits[r * cols + c] += T(g * (p - (static_cast<std::int64_t>(c) == labels[r] ? 1 : 0)));
            }
        }
    }

    /// *out = sum_{r,c} p (log p - log q) / rows with p = exp(log_p); terms with p = 0 count 0.
    /// This is torch's kl_div(log_q, log_p, reduction="batchmean", log_target=True).
    template <class C, class T>
    static void kl_div(C&, std::size_t rows, std::size_t cols, const T* log_q, const T* log_p, T* out) {
        acc_t<T> total = 0;
        for (std::size_t i = 0; i < rows * cols; ++i) {
            const acc_t<T> lp = log_p[i];
            if (lp == -std::numeric_limits<acc_t<T>>::infinity()) continue;
            total += std::exp(lp) * (lp - acc_t<T>(log_q[i]));
        }
        *out = T(total / acc_t<T>(rows));
    }

    /// dlog_q += -p g / rows; dlog_p += p (log p - log q + 1) g / rows. Either may be null.
    template <class C, class T>
    static void kl_div_backward(C&, std::size_t rows, std::size_t cols, const T* log_q, const T* log_p, const T* dout,
                                T* dlog_q, T* dlog_p) {
        const acc_t<T> g = acc_t<T>(*dout) / acc_t<T>(rows);
        for (std::size_t i = 0; i < rows * cols; ++i) {
            const acc_t<T> lp = log_p[i];
            if (lp == -std::numeric_limits<acc_t<T>>::infinity()) continue;
            const acc_t<T> p = std::exp(lp);
            if (dlog_q) dlog_q[i] += T(-p * g);
            if (dlog_p) dlog_p[i] += T(p * (lp - acc_t<T>(log_q[i]) + 1) * g);
        }
    }

private:
    static void check_label(std::int64_t v, std::size_t row, std::size_t cols) {
        check_index("starbucks::cross_entropy", "label", v, "of row " + std::to_string(row), cols);
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
