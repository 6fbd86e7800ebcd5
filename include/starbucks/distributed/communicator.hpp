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

/// @brief Collectives on a device backend's memory (NCCL for backend::cuda). They are queued
/// on the device's stream, in order with its kernels: work queued after one sees its result,
/// and synchronize() waits for them. Pointers are device pointers; counts are elements, or
/// bytes where they say so.
class device_collectives {
public:
    virtual ~device_collectives() = default;
    /// Element-wise sum over ranks, in place.
    virtual void all_reduce_sum(float* values, std::size_t n) = 0;
    virtual void all_reduce_sum(double* values, std::size_t n) = 0;
    /// Rank `root`'s `bytes` bytes at `data`, copied into every rank's.
    virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
    /// Every rank's `mine` (counts[r] bytes from rank r), concatenated in rank order into `all`.
    virtual void all_gather(const void* mine, void* all, std::span<const std::size_t> counts) = 0;
    /// @brief Waits until every queued collective has completed.
    /// @throws io_error when they have not after the communicator's timeout (a rank died or
    /// hangs), or the transport reported a failure.
    virtual void synchronize() = 0;
};

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

    /// The collectives on device memory, or null for a transport that moves host memory only.
    virtual device_collectives* device() noexcept { return nullptr; }
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
/// @brief The device collectives that data parallelism on backend B uses: null for a host
/// backend (the communicator's own collectives move its memory) and for one process (nothing
/// to move). @throws unsupported_error when B keeps tensors on a device and `comm` moves host
/// memory only.
template <class B>
device_collectives* device_collectives_for(communicator& comm, const char* where) {
    if constexpr (B::host_accessible) {
        return nullptr;
    } else {
        if (comm.is_single()) return nullptr;
        if (device_collectives* d = comm.device()) return d;
        throw unsupported_error(where, std::string("data-parallel training on the ") + B::name + " backend needs device collectives (" +
                                           "distributed::nccl_communicator); " + comm.name() + " moves host memory only");
    }
}
} // namespace detail

} // namespace distributed
STARBUCKS_NAMESPACE_END
