// SPDX-License-Identifier: Apache-2.0
// distributed::all_gather_rows: every rank's rows of a matrix, stacked in rank order, as a
// differentiable op — the backward sums the gathered gradient over ranks and hands each rank
// the rows it contributed (as torch.distributed.nn.all_gather does).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../autograd/autograd.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "communicator.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace distributed {

/// The first row of rank `rank` when rank r holds rows_per_rank[r] rows.
inline std::size_t first_row(std::span<const std::size_t> rows_per_rank, int rank) {
    return std::accumulate(rows_per_rank.begin(), rows_per_rank.begin() + rank, std::size_t{0});
}

/// @brief The rows of `x` from every rank, stacked in rank order: (Σ rows_per_rank, C).
///
/// rows_per_rank[r] is rank r's row count (every rank passes the same list); this rank's x has
/// rows_per_rank[rank()] rows. When the tape records, the backward is a collective too: every
/// rank sums the gradient of the stacked rows over ranks (zeros where its loss did not use
/// them) and accumulates its own rows of the sum into x. So the gradient of x is that of
/// Σ_ranks loss_rank, whatever each rank's loss does with the stacked rows. Every rank must
/// record the op and run backward through it in the same order.
/// @throws shape_error when the row counts disagree with x or the world size; errors of the communicator.
template <class T, class B>
autograd::var<T, dextents<2>, B> all_gather_rows(communicator& comm, const autograd::var<T, dextents<2>, B>& x,
                                                 std::span<const std::size_t> rows_per_rank) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "starbucks::distributed::all_gather_rows: float or double");
    constexpr const char* where = "starbucks::distributed::all_gather_rows";
    device_collectives* device = detail::device_collectives_for<B>(comm, where);
    const int rank = comm.rank();
    if (rows_per_rank.size() != static_cast<std::size_t>(comm.size()))
        throw shape_error(where, std::to_string(rows_per_rank.size()) + " row counts for " + std::to_string(comm.size()) + " ranks");
    const std::size_t rows = x.extent(0), width = x.extent(1);
    if (rows_per_rank[static_cast<std::size_t>(rank)] != rows)
        throw shape_error(where, "rank " + std::to_string(rank) + " holds " + to_string(x.dims()) + "; the row counts say " +
                                     std::to_string(rows_per_rank[static_cast<std::size_t>(rank)]) + " rows");
    const std::size_t total = std::accumulate(rows_per_rank.begin(), rows_per_rank.end(), std::size_t{0});
    const std::size_t offset = first_row(rows_per_rank, rank);
    const auto mine = contiguous(x.value());
    tensor<T, dextents<2>, B> y(total, width);
    std::vector<std::size_t> bytes(rows_per_rank.begin(), rows_per_rank.end());
    for (auto& b : bytes) b *= width * sizeof(T);
    if (device) {
        device->all_gather(mine.data(), y.data(), bytes);
        device->synchronize();
    } else {
        comm.all_gather(std::as_bytes(std::span<const T>(mine.data(), rows * width)), std::as_writable_bytes(std::span<T>(y.data(), total * width)),
                        bytes);
    }

    autograd::tape* t = autograd::detail::recording_for(x);
    const dextents<2> ey = y.extents();
    auto state = autograd::var_state<T, B>::from_tensor(std::move(y), t != nullptr);
    if (t) {
        // The rule runs even when this rank's loss left the stacked rows without a gradient:
        // the other ranks wait for its share of the sum.
        t->record("all_gather_rows", state, [&comm, device, weak = std::weak_ptr<autograd::var_state<T, B>>(state), sx = x.state(), ex = x.extents(), ey, offset,
                                             rows]() {
            tensor<T, dextents<2>, B> g(ey.extent(0), ey.extent(1));
            if (const auto out = weak.lock(); out && out->has_grad()) {
                const auto dy = tensor_view<const T, dextents<2>, B>(out->grad(ey));
                if constexpr (B::host_accessible) {
                    std::copy_n(dy.data(), g.size(), g.data());
                } else {
                    const layout lay = layout::contiguous(shape{g.size()});
                    B::copy(B::default_context(), backend::strided<T>{g.data(), lay}, backend::strided<const T>{dy.data(), lay});
                }
            }
            if (device) {
                device->all_reduce_sum(g.data(), g.size());
                device->synchronize();
            } else {
                comm.all_reduce_sum(std::span<T>(g.data(), g.size()));
            }
            if (sx->requires_grad && rows > 0)
                accumulate(sx->grad(ex), starbucks::slice(tensor_view<const T, dextents<2>, B>(g.data(), ey), 0, offset, offset + rows));
        });
    }
    return autograd::var<T, dextents<2>, B>(std::move(state), ey);
}

} // namespace distributed
STARBUCKS_NAMESPACE_END
