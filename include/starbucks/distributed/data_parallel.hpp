// SPDX-License-Identifier: Apache-2.0
// distributed::all_reduce_gradients and broadcast_parameters: what keeps data-parallel replicas
// identical — one start (rank 0's weights everywhere) and, every step, the gradients summed over
// ranks in contiguous buckets, so every rank takes the same optimizer step.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../autograd/var_state.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "communicator.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace distributed {

/// @brief This rank's part of batch `index` of an epoch when every rank takes `per_rank`
/// examples: positions [begin, begin + rows) of the epoch's order, the `first`-th of the batch's
/// `global_rows`; rows_per_rank[r] is rank r's part (the last batch splits as evenly as it can).
struct batch_share {
    std::size_t begin = 0, rows = 0, first = 0, global_rows = 0;
    std::vector<std::size_t> rows_per_rank;
};

inline batch_share share_of_batch(const communicator& comm, std::uint64_t index, std::size_t per_rank, std::size_t examples) {
    const std::size_t world = static_cast<std::size_t>(comm.size());
    const std::size_t start = static_cast<std::size_t>(index) * per_rank * world;
    batch_share sh;
    sh.global_rows = std::min(per_rank * world, examples - start);
    for (std::size_t r = 0; r < world; ++r) sh.rows_per_rank.push_back(sh.global_rows * (r + 1) / world - sh.global_rows * r / world);
    const std::size_t rank = static_cast<std::size_t>(comm.rank());
    sh.first = sh.global_rows * rank / world;
    sh.rows = sh.rows_per_rank[rank];
    sh.begin = start + sh.first;
    return sh;
}

/// @brief Batches in an epoch of `examples` at `per_rank` examples per rank. A last batch with
/// fewer examples than ranks is left out (a rank would have nothing to encode).
/// @throws usage_error when the examples cannot fill one batch share per rank.
inline std::size_t batches_per_epoch(const communicator& comm, std::size_t examples, std::size_t per_rank) {
    const std::size_t world = static_cast<std::size_t>(comm.size());
    const std::size_t global = per_rank * world;
    std::size_t n = (examples + global - 1) / global;
    if (world > 1 && examples % global != 0 && examples % global < world) --n;
    if (n == 0)
        throw usage_error("starbucks::distributed::batches_per_epoch", std::to_string(examples) + " examples cannot be shared by " + std::to_string(world) +
                                                                            " processes");
    return n;
}

namespace detail {
/// @brief Throws internal_error unless every rank marks the same parameters (compared by an
/// FNV-1a hash of index and size): a data-parallel step needs the same graph on every rank.
template <class T, class B, class Marked>
void check_same_parameters(communicator& comm, const std::vector<std::shared_ptr<autograd::var_state<T, B>>>& params, Marked&& marked,
                           const char* where) {
    std::uint64_t signature = 1469598103934665603ull;
    for (std::size_t i = 0; i < params.size(); ++i)
        if (marked(i))
            for (const std::uint64_t v : {std::uint64_t(i), std::uint64_t(params[i]->lay().size())}) signature = (signature ^ v) * 1099511628211ull;
    const auto signatures = all_gather_one(comm, signature);
    for (std::size_t r = 0; r < signatures.size(); ++r)
        if (signatures[r] != signatures[0])
            throw internal_error(where, "rank " + std::to_string(r) + " has gradients for other parameters than rank 0 (the ranks ran different graphs)");
}
} // namespace detail

/// @brief Sums the gradients of `params` over ranks, in place.
///
/// On a device backend the communicator's device collectives sum each gradient where it lies.
/// A gradient of at least `in_place_elements` is reduced where it lies (copying it would cost
/// as much as sending it); smaller ones (biases, LayerNorm) are packed into buckets of about
/// `bucket_elements` and reduced one bucket per collective. Only parameters that have a
/// gradient take part, and every rank must have the same ones (the same graph): checked first,
/// a mismatch is an internal_error rather than a silent mix of tensors.
template <class T, class B>
void all_reduce_gradients(communicator& comm, const std::vector<std::shared_ptr<autograd::var_state<T, B>>>& params,
                          std::size_t bucket_elements = std::size_t{1} << 20, std::size_t in_place_elements = std::size_t{1} << 16) {
    if (comm.is_single()) return;
    device_collectives* device = detail::device_collectives_for<B>(comm, "starbucks::distributed::all_reduce_gradients");
    detail::check_same_parameters(comm, params, [&](std::size_t i) { return params[i]->has_grad(); }, "starbucks::distributed::all_reduce_gradients");
    if (device) { // each gradient where it lies: packing on the device would cost what it saves
        for (const auto& p : params)
            if (p->has_grad()) device->all_reduce_sum(p->grad_data(), p->lay().size());
        device->synchronize();
        return;
    }
    std::vector<T> bucket;
    std::vector<std::pair<T*, std::size_t>> members; // where each packed gradient goes back
    const auto flush = [&] {
        if (bucket.empty()) return;
        comm.all_reduce_sum(std::span<T>(bucket));
        std::size_t at = 0;
        for (const auto& [grad, n] : members) {
            std::copy_n(bucket.data() + at, n, grad);
            at += n;
        }
        bucket.clear();
        members.clear();
    };
    for (const auto& p : params) {
        if (!p->has_grad()) continue;
        const std::size_t n = p->lay().size();
        T* grad = p->grad_data();
        if (n >= in_place_elements) {
            comm.all_reduce_sum(std::span<T>(grad, n));
            continue;
        }
        bucket.insert(bucket.end(), grad, grad + n);
        members.emplace_back(grad, n);
        if (bucket.size() >= bucket_elements) flush();
    }
    flush();
}

/// @brief Copies rank `root`'s parameter values into every rank's parameters (a run starts
/// from one set of weights, whatever each rank loaded or initialised).
template <class T, class B>
void broadcast_parameters(communicator& comm, const std::vector<std::shared_ptr<autograd::var_state<T, B>>>& params, int root = 0) {
    if (comm.is_single()) return;
    device_collectives* device = detail::device_collectives_for<B>(comm, "starbucks::distributed::broadcast_parameters");
    for (const auto& p : params) {
        if (!p->lay().is_contiguous())
            throw internal_error("starbucks::distributed::broadcast_parameters", "a parameter is a strided view; parameters own contiguous storage");
        if (device) device->broadcast(p->mutable_data(), p->lay().size() * sizeof(T), root);
        else comm.broadcast(std::as_writable_bytes(std::span<T>(p->mutable_data(), p->lay().size())), root);
    }
    if (device) device->synchronize();
}

} // namespace distributed
STARBUCKS_NAMESPACE_END
