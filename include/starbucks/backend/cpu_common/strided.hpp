// SPDX-License-Identifier: Apache-2.0
// Strided copies, accumulation and broadcast binary ops for the fast host backends: the layouts
// are collapsed to as few axes as possible, the innermost axis runs as a plain (vectorisable)
// loop, and rows spread over the OpenMP pool. Every output element sees the same operations in
// the same order as the reference backend, so results are bitwise equal to it.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "../reference/elementwise.hpp"
#include "../reference/memory.hpp"
#include "cpu_features.hpp"
#include "parallel.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// An iteration space over N operands with unit axes dropped and axes merged wherever every
/// operand is contiguous across them. Operand 0 is the one written.
template <std::size_t N>
struct collapsed_space {
    std::size_t rank = 0;
    std::array<std::size_t, max_rank> dims{};
    std::array<std::array<std::ptrdiff_t, max_rank>, N> strides{};

    static collapsed_space from(const shape& s, const std::array<const std::array<std::ptrdiff_t, max_rank>*, N>& in) {
        collapsed_space c;
        for (std::size_t ax = 0; ax < s.rank; ++ax) {
            if (s.dims[ax] == 1) continue;
            bool merge = c.rank > 0;
            for (std::size_t j = 0; j < N && merge; ++j)
                merge = c.strides[j][c.rank - 1] == (*in[j])[ax] * static_cast<std::ptrdiff_t>(s.dims[ax]);
            if (merge) {
                c.dims[c.rank - 1] *= s.dims[ax];
                for (std::size_t j = 0; j < N; ++j) c.strides[j][c.rank - 1] = (*in[j])[ax];
                continue;
            }
            c.dims[c.rank] = s.dims[ax];
            for (std::size_t j = 0; j < N; ++j) c.strides[j][c.rank] = (*in[j])[ax];
            ++c.rank;
        }
        if (c.rank == 0) c.rank = 1, c.dims[0] = 1; // a single element
        return c;
    }

    std::size_t inner() const noexcept { return dims[rank - 1]; }
    std::ptrdiff_t inner_stride(std::size_t j) const noexcept { return strides[j][rank - 1]; }
    std::size_t rows() const noexcept {
        std::size_t r = 1;
        for (std::size_t ax = 0; ax + 1 < rank; ++ax) r *= dims[ax];
        return r;
    }
    /// The offsets of the first element of row `row` (row-major over the outer axes).
    std::array<std::ptrdiff_t, N> row_offsets(std::size_t row) const noexcept {
        std::array<std::ptrdiff_t, N> off{};
        for (std::size_t ax = rank - 1; ax-- > 0;) {
            const auto i = static_cast<std::ptrdiff_t>(row % dims[ax]);
            row /= dims[ax];
            for (std::size_t j = 0; j < N; ++j) off[j] += i * strides[j][ax];
        }
        return off;
    }
    /// True when distinct rows write distinct elements of operand 0 (no reduction across rows).
    bool rows_write_apart() const noexcept {
        for (std::size_t ax = 0; ax + 1 < rank; ++ax)
            if (strides[0][ax] == 0) return false;
        return true;
    }
};

/// @brief Calls f(offsets, begin, end) for the inner elements [begin, end) of every row, each
/// output element's updates in row-major order. Rows run in parallel when they write apart;
/// a reduction across rows (a zero output stride) splits the inner axis instead.
template <std::size_t N, class F>
void for_each_row(const collapsed_space<N>& c, F&& f) {
    constexpr std::size_t parallel_from = 1 << 15, chunk = 1 << 14;
    const std::size_t inner = c.inner(), rows = c.rows();
    if (rows * inner < parallel_from) {
        for (std::size_t r = 0; r < rows; ++r) f(c.row_offsets(r), 0, inner);
    } else if (rows > 1 && c.rows_write_apart()) {
        parallel_chunks(rows, inner >= chunk ? 1 : chunk / inner, [&](std::size_t b, std::size_t e) {
            for (std::size_t r = b; r < e; ++r) f(c.row_offsets(r), 0, inner);
        });
    } else if (c.inner_stride(0) != 0 && inner >= 256) {
        parallel_chunks(inner, std::max<std::size_t>(64, inner / 16), [&](std::size_t b, std::size_t e) {
            for (std::size_t r = 0; r < rows; ++r) f(c.row_offsets(r), b, e);
        });
    } else {
        for (std::size_t r = 0; r < rows; ++r) f(c.row_offsets(r), 0, inner);
    }
}

/// Host memory as the reference backend's, with copy and accumulate on collapsed layouts,
/// parallel over rows.
struct cpu_memory : reference_memory {
    template <class C, class T>
    static void copy(C&, const strided<T>& dst, const strided<const T>& src) {
        each_pair(dst, src, [](T& d, T s) { d = s; });
    }

    template <class C, class T>
    static void accumulate(C&, const strided<T>& dst, const strided<const T>& src, T alpha) {
#if defined(STARBUCKS_X86_DISPATCH)
        if constexpr (std::is_same_v<T, float>)
            if (column_sums(dst, src, alpha)) return;
#endif
        each_pair(dst, src, [alpha](T& d, T s) { d += alpha * s; });
    }

private:
#if defined(STARBUCKS_X86_DISPATCH)
    /// A bias gradient (dst[c] += alpha · Σ_r src[r, c] over dense rows) on AVX-512: 64 columns
    /// held in registers down all the rows, column blocks spread over the pool. Each column
    /// still adds its rows in order, so the bits are the reference's; the general loop stored and
    /// reloaded every partial sum and ran at ≈ 4 GB/s. False when the layout is not that case.
    static bool column_sums(const strided<float>& dst, const strided<const float>& src, float alpha) {
        if (!cpu().avx512f || src.lay.dims.size() < (1u << 15)) return false;
        const auto c = collapsed_space<2>::from(src.lay.dims, {&dst.lay.strides, &src.lay.strides});
        if (c.rank != 2 || c.strides[0][0] != 0 || c.strides[0][1] != 1 || c.strides[1][1] != 1) return false;
        const std::size_t rows = c.dims[0], cols = c.dims[1];
        const std::ptrdiff_t ld = c.strides[1][0];
        parallel_chunks(cols, 64, [&](std::size_t b, std::size_t e) { column_sums_avx512(dst.data, src.data, rows, ld, b, e, alpha); });
        return true;
    }

    STARBUCKS_AVX512_NO_CONTRACT static void column_sums_avx512(float* dst, const float* src, std::size_t rows, std::ptrdiff_t ld,
                                                               std::size_t b, std::size_t e, float alpha) noexcept {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
        using f32x16 = float __attribute__((vector_size(64)));
        std::size_t c = b;
        for (; c + 64 <= e; c += 64) {
            f32x16 acc[4];
            std::memcpy(acc, dst + c, sizeof acc);
            for (std::size_t r = 0; r < rows; ++r) {
                f32x16 row[4];
                std::memcpy(row, src + static_cast<std::ptrdiff_t>(r) * ld + static_cast<std::ptrdiff_t>(c), sizeof row);
                for (int k = 0; k < 4; ++k) acc[k] += alpha * row[k];
            }
            std::memcpy(dst + c, acc, sizeof acc);
        }
        for (; c + 16 <= e; c += 16) {
            f32x16 acc;
            std::memcpy(&acc, dst + c, sizeof acc);
            for (std::size_t r = 0; r < rows; ++r) {
                f32x16 row;
                std::memcpy(&row, src + static_cast<std::ptrdiff_t>(r) * ld + static_cast<std::ptrdiff_t>(c), sizeof row);
                acc += alpha * row;
            }
            std::memcpy(dst + c, &acc, sizeof acc);
        }
        for (; c < e; ++c)
            for (std::size_t r = 0; r < rows; ++r) dst[c] += alpha * src[static_cast<std::ptrdiff_t>(r) * ld + static_cast<std::ptrdiff_t>(c)];
    }
#endif

    /// f(dst element, src element) over src's shape, the inner axis a plain loop when both are dense there.
    template <class T, class F>
    static void each_pair(const strided<T>& dst, const strided<const T>& src, F f) {
        if (src.lay.dims.size() == 0) return;
        const auto c = collapsed_space<2>::from(src.lay.dims, {&dst.lay.strides, &src.lay.strides});
        const std::ptrdiff_t sd = c.inner_stride(0), ss = c.inner_stride(1);
        for_each_row(c, [&](const std::array<std::ptrdiff_t, 2>& off, std::size_t b, std::size_t e) {
            T* d = dst.data + off[0];
            const T* s = src.data + off[1];
            if (sd == 1 && ss == 1) {
                for (std::size_t i = b; i < e; ++i) f(d[i], s[i]);
            } else {
                for (std::size_t i = b; i < e; ++i) f(d[std::ptrdiff_t(i) * sd], s[std::ptrdiff_t(i) * ss]);
            }
        });
    }
};

/// Broadcast binary ops on collapsed layouts, parallel over rows.
struct cpu_binary {
    template <class C, class T>
    static void binary(C&, binary_op op, const strided<T>& out, const strided<const T>& a, const strided<const T>& b,
                       bool accumulate = false) {
        switch (op) {
        case binary_op::add: return binary_with(out, a, b, accumulate, [](T x, T y) { return x + y; });
        case binary_op::sub: return binary_with(out, a, b, accumulate, [](T x, T y) { return x - y; });
        case binary_op::mul: return binary_with(out, a, b, accumulate, [](T x, T y) { return x * y; });
        case binary_op::div: return binary_with(out, a, b, accumulate, [](T x, T y) { return x / y; });
        }
    }

private:
    template <class T, class Op>
    static void binary_with(const strided<T>& out, const strided<const T>& a, const strided<const T>& b, bool accumulate, Op op) {
        if (out.lay.dims.size() == 0) return;
        const auto c = collapsed_space<3>::from(out.lay.dims, {&out.lay.strides, &a.lay.strides, &b.lay.strides});
        const std::ptrdiff_t so = c.inner_stride(0), sa = c.inner_stride(1), sb = c.inner_stride(2);
        for_each_row(c, [&](const std::array<std::ptrdiff_t, 3>& off, std::size_t begin, std::size_t end) {
            T* o = out.data + off[0];
            const T* x = a.data + off[1];
            const T* y = b.data + off[2];
            if (so == 1 && sa == 1 && sb == 1) { // same layout
                if (accumulate) for (std::size_t i = begin; i < end; ++i) o[i] += op(x[i], y[i]);
                else for (std::size_t i = begin; i < end; ++i) o[i] = op(x[i], y[i]);
            } else if (so == 1 && sa == 1 && sb == 0) { // a row and a broadcast scalar
                if (accumulate) for (std::size_t i = begin; i < end; ++i) o[i] += op(x[i], y[0]);
                else for (std::size_t i = begin; i < end; ++i) o[i] = op(x[i], y[0]);
            } else {
                for (std::size_t i = begin; i < end; ++i) {
                    const auto k = static_cast<std::ptrdiff_t>(i);
                    const T r = op(x[k * sa], y[k * sb]);
                    if (accumulate) o[k * so] += r;
                    else o[k * so] = r;
                }
            }
        });
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
