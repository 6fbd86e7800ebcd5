// SPDX-License-Identifier: Apache-2.0
// Private to ops/: contiguous inputs, broadcast layouts and output allocation.
// Include the public ops headers instead.
#pragma once

#include <string>

#include "../../tensor/contiguous.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace detail {

/// The layout of `l` read as `out` (right-aligned), with stride 0 on broadcast axes.
/// @throws shape_error naming `op` when the shapes do not broadcast.
inline layout broadcast_to(const char* op, const layout& l, const shape& out, const shape& other) {
    layout b;
    b.dims = out;
    const std::size_t lead = out.rank - l.dims.rank;
    for (std::size_t i = 0; i < out.rank; ++i) {
        if (i < lead) continue;
        const std::size_t e = l.dims.dims[i - lead];
        if (e == out.dims[i]) b.strides[i] = l.strides[i - lead];
        else if (e == 1) b.strides[i] = 0;
        else throw shape_error(op, "shapes " + to_string(l.dims) + " and " + to_string(other) + " do not broadcast");
    }
    return b;
}

/// The broadcast shape of a and b (NumPy rules), or a shape_error naming `op`.
inline shape broadcast_shape(const char* op, const shape& a, const shape& b) {
    shape s;
    s.rank = a.rank > b.rank ? a.rank : b.rank;
    for (std::size_t i = 0; i < s.rank; ++i) {
        const std::size_t ea = i + a.rank >= s.rank ? a.dims[i + a.rank - s.rank] : 1;
        const std::size_t eb = i + b.rank >= s.rank ? b.dims[i + b.rank - s.rank] : 1;
        if (ea != eb && ea != 1 && eb != 1)
            throw shape_error(op, "shapes " + to_string(a) + " and " + to_string(b) + " do not broadcast");
        s.dims[i] = ea == 1 ? eb : ea;
    }
    return s;
}

/// Throws shape_error naming `op` unless a and b have the same shape.
inline void check_same_shape(const char* op, const shape& a, const shape& b) {
    if (!(a == b)) throw shape_error(op, "shapes differ: " + to_string(a) + " vs " + to_string(b));
}

/// Throws shape_error naming `op` when a tensor has no elements where one is needed.
inline void check_not_empty(const char* op, const shape& s) {
    if (s.size() == 0) throw shape_error(op, "empty tensor " + to_string(s));
}

/// Rows and columns of a tensor seen as (size / last extent, last extent).
inline std::pair<std::size_t, std::size_t> rows_cols(const shape& s) {
    const std::size_t cols = s.rank ? s.dims[s.rank - 1] : 1;
    return {cols ? s.size() / cols : 0, cols};
}

} // namespace detail
STARBUCKS_NAMESPACE_END
