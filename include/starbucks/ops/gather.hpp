// SPDX-License-Identifier: Apache-2.0
// Embedding lookup (row gather) with scatter-add backward; masked mean pooling.
#pragma once

#include <cstdint>

#include "detail/operand.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// @brief Rows of `table` (V, C) picked by int64 `ids` of any shape: result ids.shape + (C).
/// @throws shape_error naming the id and its position when an id is outside [0, V).
template <tensor_like Tb, tensor_like I>
    requires real<value_type_t<Tb>> && std::is_same_v<value_type_t<I>, std::int64_t>
auto embedding(const Tb& table, const I& ids) {
    using T = value_type_t<Tb>;
    using B = backend_t<Tb>;
    using EI = extents_t<I>;
    static_assert(extents_t<Tb>::rank() == 2, "starbucks::embedding: table needs rank 2");
    constexpr std::size_t C = extents_t<Tb>::static_extent(1);
    using E = decltype([]<std::size_t... K>(std::index_sequence<K...>) {
        return extents<EI::static_extent(K)..., C>{};
    }(std::make_index_sequence<EI::rank()>{}));
    auto vt = as_const_view(table);
    auto vi = as_const_view(ids);
    shape s = vi.dims();
    s.dims[s.rank++] = vt.extent(1);
    tensor<T, E, B> out(E(s), uninitialized);
    contiguous_input it(vt);
    contiguous_input ii(vi);
    B::gather_rows(B::default_context(), vi.size(), vt.extent(1), it.data(), vt.extent(0), ii.data(), out.data());
    return out;
}

/// dtable[ids[i], :] += dout[i, :].
template <class T, class ET, class EI, class EO, class B>
void embedding_backward(tensor_view<const std::int64_t, EI, B> ids, tensor_view<const T, EO, B> dout, tensor_view<T, ET, B> dtable) {
    contiguous_input ii(ids);
    B::scatter_add_rows(B::default_context(), ids.size(), dtable.extent(1), dout.data(), dtable.extent(0), ii.data(),
                        dtable.data());
}

/// @brief Mean of x (B, T, C) over the tokens where mask (B, T) is 1: (B, C). Padding (0) is
/// ignored; a row with no tokens divides by 1e-9 as sentence-transformers does (giving 0).
template <tensor_like X, tensor_like M>
    requires real<value_type_t<X>> && std::is_same_v<value_type_t<X>, value_type_t<M>>
auto masked_mean(const X& x, const M& mask) {
    using T = value_type_t<X>;
    using B = backend_t<X>;
    using EX = extents_t<X>;
    using EM = extents_t<M>;
    static_assert(EX::rank() == 3 && EM::rank() == 2, "starbucks::masked_mean: x needs (B, T, C) and mask (B, T)");
    static_assert(extents_agree(EX::static_extent(0), EM::static_extent(0)) && extents_agree(EX::static_extent(1), EM::static_extent(1)),
                  "starbucks::masked_mean: static extents of x and mask differ");
    auto vx = as_const_view(x);
    auto vm = as_const_view(mask);
    if (vx.extent(0) != vm.extent(0) || vx.extent(1) != vm.extent(1))
        throw shape_error("starbucks::masked_mean", "x " + to_string(vx.dims()) + " vs mask " + to_string(vm.dims()));
    using E = extents<merge_extent(EX::static_extent(0), EM::static_extent(0)), EX::static_extent(2)>;
    tensor<T, E, B> y(E(vx.extent(0), vx.extent(2)), uninitialized);
    contiguous_input ix(vx);
    contiguous_input im(vm);
    B::masked_mean(B::default_context(), vx.extent(0), vx.extent(1), vx.extent(2), ix.data(), im.data(), y.data());
    return y;
}

/// dx += the masked-mean gradient of dy.
template <class T, class EX, class EM, class EY, class B>
void masked_mean_backward(tensor_view<const T, EM, B> mask, tensor_view<const T, EY, B> dy, tensor_view<T, EX, B> dx) {
    contiguous_input im(mask);
    B::masked_mean_backward(B::default_context(), dx.extent(0), dx.extent(1), dx.extent(2), im.data(), dy.data(), dx.data());
}

STARBUCKS_NAMESPACE_END
