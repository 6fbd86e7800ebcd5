// SPDX-License-Identifier: Apache-2.0
// Reference backend: embedding row gather with scatter-add backward, masked mean pooling.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "../../core/error.hpp"
#include "../concepts.hpp"
#include "detail/rows.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct reference_gather {
    /// out[i, :] = table[idx[i], :]; an index outside [0, table_rows) is a shape_error.
    template <class C, class T>
    static void gather_rows(C&, std::size_t n_idx, std::size_t cols, const T* table, std::size_t table_rows,
                            const std::int64_t* idx, T* out) {
        for (std::size_t i = 0; i < n_idx; ++i) {
            check_index(idx[i], i, table_rows);
            std::copy_n(table + static_cast<std::size_t>(idx[i]) * cols, cols, out + i * cols);
        }
    }

    /// dtable[idx[i], :] += dout[i, :]; repeated indices accumulate in index order.
    template <class C, class T>
    static void scatter_add_rows(C&, std::size_t n_idx, std::size_t cols, const T* dout, std::size_t table_rows,
                                 const std::int64_t* idx, T* dtable) {
        for (std::size_t i = 0; i < n_idx; ++i) {
            check_index(idx[i], i, table_rows);
            T* row = dtable + static_cast<std::size_t>(idx[i]) * cols;
            for (std::size_t c = 0; c < cols; ++c) row[c] += dout[i * cols + c];
        }
    }

    /// y[b, :] = sum_t mask[b, t] x[b, t, :] / max(sum_t mask[b, t], 1e-9), as sentence-transformers.
    template <class C, class T>
    static void masked_mean(C&, std::size_t batch, std::size_t tokens, std::size_t cols, const T* x, const T* mask,
                            T* y) {
        for (std::size_t b = 0; b < batch; ++b) {
            const acc_t<T> count = token_count(mask + b * tokens, tokens);
            for (std::size_t c = 0; c < cols; ++c) {
                acc_t<T> s = 0;
                for (std::size_t t = 0; t < tokens; ++t) s += acc_t<T>(mask[b * tokens + t]) * x[(b * tokens + t) * cols + c];
                y[b * cols + c] = T(s / count);
            }
        }
    }

    /// dx[b, t, :] += dy[b, :] * mask[b, t] / count[b].
    template <class C, class T>
    static void masked_mean_backward(C&, std::size_t batch, std::size_t tokens, std::size_t cols, const T* mask,
                                     const T* dy, T* dx) {
        for (std::size_t b = 0; b < batch; ++b) {
            const acc_t<T> count = token_count(mask + b * tokens, tokens);
            for (std::size_t t = 0; t < tokens; ++t) {
                const acc_t<T> w = acc_t<T>(mask[b * tokens + t]) / count;
                for (std::size_t c = 0; c < cols; ++c) dx[(b * tokens + t) * cols + c] += T(w * dy[b * cols + c]);
            }
        }
    }

private:
    static void check_index(std::int64_t v, std::size_t at, std::size_t rows) {
        detail::check_index("starbucks::gather_rows", "index", v, "at position " + std::to_string(at), rows);
    }
    template <class T>
    static acc_t<T> token_count(const T* mask, std::size_t tokens) {
        acc_t<T> n = 0;
        for (std::size_t t = 0; t < tokens; ++t) n += mask[t];
        return std::max(n, acc_t<T>(1e-9));
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
