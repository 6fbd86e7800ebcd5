// SPDX-License-Identifier: Apache-2.0
// distributed::communicator: the collectives data-parallel training needs (rank, world size,
// all-reduce, broadcast, all-gather), behind one interface so the trainers run unchanged on one
// process (single_process, no dependency) or on MPI (mpi_communicator.hpp, component starbucks::mpi).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../config.hpp"
#include "../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace distributed {

/// @brief A group of ranks that run the same training program on their own slices of the data.
///
/// Every collective must be called by every rank, in the same order, with matching sizes; an
/// implementation that talks to other processes gives up with an io_error after its timeout
/// instead of waiting forever.
class communicator {
public:
    virtual ~communicator() = default;
    /// This process's index, 0..size()-1.
    virtual int rank() const noexcept = 0;
    /// The number of ranks.
    virtual int size() const noexcept = 0;
    /// What carries the messages, for logs ("single process", "MPI (Open MPI v4.1.4)").
    virtual std::string name() const = 0;

    /// Element-wise sum over ranks, in place; every rank ends with the same values.
    virtual void all_reduce_sum(std::span<float> values) = 0;
    virtual void all_reduce_sum(std::span<double> values) = 0;
    /// Rank `root`'s bytes, copied into every rank's `bytes` (of the same size everywhere).
    virtual void broadcast(std::span<std::byte> bytes, int root) = 0;
    /// @brief Every rank's `mine`, concatenated in rank order into `all`; counts[r] is the number
    /// of bytes rank r sends (known to every rank), and all.size() their sum.
    virtual void all_gather(std::span<const std::byte> mine, std::span<std::byte> all, std::span<const std::size_t> counts) = 0;

    /// @brief Starts an in-place sum over ranks, completed by wait_all(); `values` must stay
    /// untouched until then. Started sums complete in the order they were started, apart from
    /// the blocking collectives above. A transport that cannot overlap sums before returning.
    virtual void start_all_reduce_sum(std::span<float> values) { all_reduce_sum(values); }
    virtual void start_all_reduce_sum(std::span<double> values) { all_reduce_sum(values); }
    /// Advances the started sums without waiting (MPI moves them only inside its calls).
    virtual void progress() {}
    /// Waits until every started sum has completed.
    virtual void wait_all() {}

    bool is_single() const noexcept { return size() == 1; }
};

/// @brief The world of one process: every collective is a copy. The default of the trainers,
/// so single-process training pays nothing for the distributed layer.
class single_process final : public communicator {
public:
    int rank() const noexcept override { return 0; }
    int size() const noexcept override { return 1; }
    std::string name() const override { return "single process"; }
    void all_reduce_sum(std::span<float>) override {}
    void all_reduce_sum(std::span<double>) override {}
    void broadcast(std::span<std::byte>, int root) override {
        if (root != 0) throw usage_error("starbucks::distributed::single_process", "broadcast from rank " + std::to_string(root) + " of 1");
    }
    void all_gather(std::span<const std::byte> mine, std::span<std::byte> all, std::span<const std::size_t> counts) override {
        if (counts.size() != 1 || counts[0] != mine.size() || all.size() != mine.size())
            throw shape_error("starbucks::distributed::single_process", "all_gather of " + std::to_string(mine.size()) + " bytes into " +
                                                                            std::to_string(all.size()));
        if (!mine.empty()) std::memcpy(all.data(), mine.data(), mine.size());
    }
};

/// The process-wide single_process communicator.
inline communicator& self() {
    static single_process world;
    return world;
}

/// @brief Every rank's values of T, in rank order (each rank sends `mine.size()` = counts[r]
/// elements). A convenience over communicator::all_gather.
template <class T>
std::vector<T> all_gather_values(communicator& comm, std::span<const T> mine, std::span<const std::size_t> counts) {
    static_assert(std::is_trivially_copyable_v<T>, "starbucks::distributed::all_gather_values: T must be trivially copyable");
    std::vector<std::size_t> bytes(counts.begin(), counts.end());
    for (auto& b : bytes) b *= sizeof(T);
    std::vector<T> all(std::accumulate(counts.begin(), counts.end(), std::size_t{0}));
    comm.all_gather(std::as_bytes(mine), std::as_writable_bytes(std::span<T>(all)), bytes);
    return all;
}

/// One value from every rank, in rank order.
template <class T>
std::vector<T> all_gather_one(communicator& comm, const T& value) {
    const std::vector<std::size_t> counts(static_cast<std::size_t>(comm.size()), 1);
    return all_gather_values<T>(comm, std::span<const T>(&value, 1), counts);
}

namespace detail {
/// Data parallelism moves host memory (MPI); device tensors need NCCL, which is not built yet.
/// One process needs no collective, so a device backend is refused only when there are more.
template <class B>
void refuse_device_world(const communicator& comm, const char* where) {
    if constexpr (!B::host_accessible)
        if (!comm.is_single())
            throw unsupported_error(where, std::string("data-parallel training on the ") + B::name +
                                               " backend needs NCCL, which is not built yet; run one process");
}
} // namespace detail

} // namespace distributed
STARBUCKS_NAMESPACE_END
