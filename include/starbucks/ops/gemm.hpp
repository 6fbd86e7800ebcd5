// SPDX-License-Identifier: Apache-2.0
// Matrix products: matmul<TransA, TransB>(a, b), batched and strided, and an accumulating form.
#pragma once

#include <algorithm>
#include <optional>

#include "detail/operand.hpp"
#include "matmul_precision.hpp"

STARBUCKS_NAMESPACE_BEGIN

namespace detail {
/// Result extents of op(A) x op(B): batch axes from the batched operand, then (M, N).
template <class EA, class EB, bool TA, bool TB, class Seq = std::make_index_sequence<(EA::rank() > EB::rank() ? EA::rank() : EB::rank())>>
struct matmul_extents;
template <class EA, class EB, bool TA, bool TB, std::size_t... I>
struct matmul_extents<EA, EB, TA, TB, std::index_sequence<I...>> {
    static constexpr std::size_t ra = EA::rank(), rb = EB::rank(), r = sizeof...(I);
    static constexpr std::size_t at(std::size_t i) {
        if (i == r - 2) return TA ? EA::static_extent(ra - 1) : EA::static_extent(ra - 2);
        if (i == r - 1) return TB ? EB::static_extent(rb - 2) : EB::static_extent(rb - 1);
        if (ra == r && rb == r) return merge_extent(EA::static_extent(i), EB::static_extent(i));
        return ra == r ? EA::static_extent(i) : EB::static_extent(i);
    }
    static constexpr std::size_t k_a = TA ? EA::static_extent(ra - 2) : EA::static_extent(ra - 1);
    static constexpr std::size_t k_b = TB ? EB::static_extent(rb - 1) : EB::static_extent(rb - 2);
    static constexpr bool batch_agrees() {
        if (ra != rb) return true;
        for (std::size_t i = 0; i + 2 < ra; ++i)
            if (!extents_agree(EA::static_extent(i), EB::static_extent(i))) return false;
        return true;
    }
    using type = extents<at(I)...>;
};

/// How a backend sees one matrix operand: pointer, leading dimension, transpose flag, batch stride.
template <class T>
struct matrix_operand {
    const T* ptr = nullptr;
    std::ptrdiff_t ld = 0, batch_stride = 0;
    bool trans = false;
};

/// Describes a (batch..., rows, cols) view for gemm without copying when its last two axes are
/// row- or column-major and its batch axes collapse into one stride; nullopt otherwise.
template <class V>
std::optional<matrix_operand<std::remove_const_t<typename V::element_type>>> describe_matrix(const V& v, bool trans,
                                                                                             bool broadcast) {
    constexpr std::size_t r = V::rank();
    const std::size_t rows = v.extent(r - 2), cols = v.extent(r - 1);
    matrix_operand<std::remove_const_t<typename V::element_type>> m;
    m.ptr = v.data();
    if (v.stride(r - 1) == 1 || cols == 1) {
        m.ld = rows == 1 ? static_cast<std::ptrdiff_t>(std::max<std::size_t>(cols, 1)) : v.stride(r - 2);
        m.trans = trans;
        if (m.ld < static_cast<std::ptrdiff_t>(cols)) return std::nullopt;
    } else if (v.stride(r - 2) == 1 || rows == 1) {
        m.ld = cols == 1 ? static_cast<std::ptrdiff_t>(std::max<std::size_t>(rows, 1)) : v.stride(r - 1);
        m.trans = !trans; // column-major storage is the transpose in row-major terms
        if (m.ld < static_cast<std::ptrdiff_t>(rows)) return std::nullopt;
    } else {
        return std::nullopt;
    }
    if (broadcast || r == 2) return m;
    // Batch axes must collapse: stride[i] == stride[i+1] * extent[i+1] (axes of extent 1 skipped).
    std::ptrdiff_t expected = 0;
    bool have = false;
    for (std::size_t i = r - 2; i-- > 0;) {
        if (v.extent(i) == 1) continue;
        if (have && v.stride(i) != expected) return std::nullopt;
        if (!have) m.batch_stride = v.stride(i);
        have = true;
        expected = v.stride(i) * static_cast<std::ptrdiff_t>(v.extent(i));
    }
    return m;
}

/// The type a product of T operands is computed in: f32 for bf16 (f32 accumulation), else T.
template <class T>
using product_t = std::conditional_t<std::is_same_v<T, bf16>, float, T>;

/// c = alpha * op(a) op(b) + beta * c, then the epilogue, for already shape-checked operands; c
/// must be contiguous (and a residual laid out as c). Operands of type T; c (and alpha, beta) of
/// type TC, which is float for bf16 operands.
template <class T, class B, class VA, class VB, class VC, class TC = typename VC::value_type>
void gemm_dispatch(const VA& a, const VB& b, VC& c, bool ta, bool tb, TC alpha, TC beta,
                   const backend::gemm_epilogue<TC>& epilogue = {}, bool b_is_weight = false) {
    constexpr std::size_t ra = VA::rank(), rb = VB::rank(), rc = VC::rank();
    const std::size_t m = c.extent(rc - 2), n = c.extent(rc - 1);
    const std::size_t k = ta ? a.extent(ra - 2) : a.extent(ra - 1);
    std::size_t batch = 1;
    for (std::size_t i = 0; i + 2 < rc; ++i) batch *= c.extent(i);
    // Operands a strided view cannot express are copied once, then described again.
    std::optional<contiguous_input<T, typename VA::extents_type, B>> a_copy;
    std::optional<contiguous_input<T, typename VB::extents_type, B>> b_copy;
    auto da = describe_matrix(a, ta, ra < rc);
    if (!da) {
        a_copy.emplace(a);
        da = describe_matrix(tensor_view<const T, typename VA::extents_type, B>(a_copy->data(), a.extents()), ta, ra < rc);
    }
    auto db = describe_matrix(b, tb, rb < rc);
    if (!db) {
        b_copy.emplace(b);
        db = describe_matrix(tensor_view<const T, typename VB::extents_type, B>(b_copy->data(), b.extents()), tb, rb < rc);
    }
    if (m == 0 || n == 0) return;
    backend::gemm_args<T, TC> g;
    g.batch = batch;
    g.m = m;
    // A batch of row blocks times one shared matrix (x (B, T, C) · Wᵀ) is a single GEMM over
    // the stacked rows when A's rows follow each other across the batch.
    if (batch > 1 && rb < rc && ra == rc && !da->trans && da->batch_stride == static_cast<std::ptrdiff_t>(m) * da->ld) {
        g.batch = 1;
        g.m = batch * m;
    }
    g.n = n;
    g.k = k;
    g.trans_a = da->trans;
    g.trans_b = db->trans;
    g.a = da->ptr;
    g.lda = da->ld;
    g.stride_a = ra < rc ? 0 : da->batch_stride;
    g.b = db->ptr;
    g.ldb = db->ld;
    g.stride_b = rb < rc ? 0 : db->batch_stride;
    g.c = c.data();
    g.ldc = static_cast<std::ptrdiff_t>(n);
    g.stride_c = static_cast<std::ptrdiff_t>(m * n);
    g.alpha = alpha;
    g.beta = beta;
    g.epilogue = epilogue;
    g.b_is_weight = b_is_weight;
    if constexpr (std::is_same_v<T, float>) g.bf16_operands = current_matmul_precision() == matmul_precision::bf16;
    B::gemm(B::default_context(), g);
}

template <bool TA, bool TB>
shape matmul_shape(const shape& a, const shape& b, const char* op = "starbucks::matmul") {
    if (a.rank < 2 || b.rank < 2) throw shape_error(op, "operands need rank >= 2: lhs " + to_string(a) + " vs rhs " + to_string(b));
    const std::size_t ka = TA ? a.dims[a.rank - 2] : a.dims[a.rank - 1];
    const std::size_t kb = TB ? b.dims[b.rank - 1] : b.dims[b.rank - 2];
    if (ka != kb) throw shape_error(op, "inner extents differ: lhs " + to_string(a) + " vs rhs " + to_string(b));
    if (a.rank > 2 && b.rank > 2) {
        if (a.rank != b.rank) throw shape_error(op, "batch ranks differ: lhs " + to_string(a) + " vs rhs " + to_string(b));
        for (std::size_t i = 0; i + 2 < a.rank; ++i)
            if (a.dims[i] != b.dims[i]) throw shape_error(op, "batch extents differ: lhs " + to_string(a) + " vs rhs " + to_string(b));
    }
    const shape& big = a.rank >= b.rank ? a : b;
    shape c = big;
    c.dims[c.rank - 2] = TA ? a.dims[a.rank - 1] : a.dims[a.rank - 2];
    c.dims[c.rank - 1] = TB ? b.dims[b.rank - 2] : b.dims[b.rank - 1];
    return c;
}
} // namespace detail

/// @brief op(a) x op(b), where op transposes the last two axes when TransA / TransB is set.
/// float and double multiply in their own type; bf16 operands give a float result (f32
/// accumulation, as mixed-precision training needs).
///
/// Batched: rank > 2 operands multiply matrix by matrix over equal leading axes; a rank-2
/// operand is shared by every batch entry. Strided views are used in place when their last two
/// axes are row- or column-major. Static inner extents that differ do not compile.
/// `alpha` scales the product inside the GEMM (attention's 1/sqrt(d) without another pass).
/// @throws shape_error naming both shapes on a run-time mismatch.
template <bool TransA = false, bool TransB = false, tensor_like A, tensor_like B>
    requires(real<value_type_t<A>> || std::is_same_v<value_type_t<A>, bf16>) &&
            std::is_same_v<value_type_t<A>, value_type_t<B>> && std::is_same_v<backend_t<A>, backend_t<B>>
auto matmul(const A& a, const B& b, detail::product_t<value_type_t<A>> alpha = 1) {
    using EA = extents_t<A>;
    using EB = extents_t<B>;
    static_assert(EA::rank() >= 2 && EB::rank() >= 2, "starbucks::matmul: operands need rank >= 2");
    using X = detail::matmul_extents<EA, EB, TransA, TransB>;
    static_assert(extents_agree(X::k_a, X::k_b), "starbucks::matmul: static inner extents differ");
    static_assert(X::batch_agrees(), "starbucks::matmul: static batch extents differ");
    using T = value_type_t<A>;
    using TC = detail::product_t<T>; // bf16 products accumulate in f32
    using Be = backend_t<A>;
    auto va = as_const_view(a);
    auto vb = as_const_view(b);
    using E = typename X::type;
    tensor<TC, E, Be> c(E(detail::matmul_shape<TransA, TransB>(va.dims(), vb.dims())), uninitialized);
    auto vc = c.view();
    detail::gemm_dispatch<T, Be>(va, vb, vc, TransA, TransB, alpha, TC(0));
    return c;
}

/// a x bᵀ: the product with a Hugging Face [out, in] weight.
template <tensor_like A, tensor_like B>
auto matmul_nt(const A& a, const B& b) {
    return matmul<false, true>(a, b);
}

/// @brief c = alpha * op(a) op(b) + beta * c into an existing contiguous c (beta = 1 accumulates
/// a gradient). Shapes are checked as for matmul. `b_is_weight`: b is a layer's weight (see
/// backend::gemm_args), as in the input gradient of a linear layer.
template <bool TransA, bool TransB, class T, class EA, class EB, class EC, class B>
void matmul_into(tensor_view<T, EC, B> c, tensor_view<const T, EA, B> a, tensor_view<const T, EB, B> b, T alpha, T beta,
                 bool b_is_weight = false) {
    const shape expect = detail::matmul_shape<TransA, TransB>(a.dims(), b.dims());
    if (!(expect == c.dims()) || !c.is_contiguous())
        throw shape_error("starbucks::matmul_into", "output " + to_string(c.lay()) + " must be contiguous " + to_string(expect));
    detail::gemm_dispatch<T, B>(a, b, c, TransA, TransB, alpha, beta, {}, b_is_weight);
}

STARBUCKS_NAMESPACE_END
