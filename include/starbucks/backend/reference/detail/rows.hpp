// SPDX-License-Identifier: Apache-2.0
// Private to backend/reference: row helpers shared by several kernels.
// Include <starbucks/backend/reference/reference.hpp> instead.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "../../../core/error.hpp"
#include "strided_loop.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// log(sum(exp(x))) of one row, max-shifted; -inf (or NaN) rows return their maximum.
template <class T>
acc_t<T> row_logsumexp(const T* x, std::size_t cols) {
    acc_t<T> m = -std::numeric_limits<acc_t<T>>::infinity();
    for (std::size_t c = 0; c < cols; ++c) m = std::max(m, acc_t<T>(x[c]));
    if (m == -std::numeric_limits<acc_t<T>>::infinity() || std::isnan(m)) return m;
    acc_t<T> s = 0;
    for (std::size_t c = 0; c < cols; ++c) s += std::exp(acc_t<T>(x[c]) - m);
    return m + std::log(s);
}

/// Throws shape_error "<op>: <what> <v> <where> is outside [0, limit)" for an index out of range.
inline void check_index(const char* op, const char* what, std::int64_t v, const std::string& where, std::size_t limit) {
    if (v < 0 || static_cast<std::uint64_t>(v) >= limit)
        throw shape_error(op, std::string(what) + " " + std::to_string(v) + " " + where + " is outside [0, " +
                                  std::to_string(limit) + ")");
}

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
