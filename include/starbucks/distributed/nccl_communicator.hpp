// SPDX-License-Identifier: Apache-2.0
// distributed::nccl_communicator: data parallelism on backend::cuda. Gradients, weights and
// gathered embeddings move between GPUs with NCCL on the device's stream; everything on the
// host (start-up checks, counts, hashes) goes through the host communicator it is built on
// (MPI), which also carries NCCL's unique id from rank 0 to the others.
//
// Plain C++: the NCCL calls are defined in backend/cuda/kernels/nccl.cuh, which the program's
// one CUDA translation unit compiles when STARBUCKS_WITH_NCCL is defined (and libnccl linked).
#pragma once

#ifndef STARBUCKS_WITH_NCCL
#error "starbucks/distributed/nccl_communicator.hpp needs NCCL: define STARBUCKS_WITH_NCCL for the program (its CUDA translation unit included) and link libnccl"
#endif

#include <array>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include "../backend/cuda/cuda.hpp"
#include "communicator.hpp"
#include "launcher.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace distributed {

namespace nccl_detail {
/// NCCL's communicator and what it runs on (defined with the NCCL calls).
struct state;
/// NCCL_UNIQUE_ID_BYTES: what rank 0 makes and every rank passes to create().
using unique_id = std::array<char, 128>;
unique_id make_unique_id();
/// @throws io_error naming the NCCL call and its result.
state* create(backend::cuda_detail::device_state& device, int rank, int size, const unique_id& id);
void destroy(state*) noexcept;
/// Stops the communicator's pending work (after a timeout) and frees it.
void abort(state*) noexcept;
std::string version();
void all_reduce_sum(state*, void* data, std::size_t n, bool is_double);
void broadcast(state*, void* data, std::size_t bytes, int root);
void all_gather(state*, const void* mine, void* all, std::span<const std::size_t> counts);
/// Waits for the device's stream: false when it has not finished after `timeout`.
/// @throws io_error when NCCL reports an asynchronous failure.
bool wait(state*, std::chrono::milliseconds timeout);
} // namespace nccl_detail

/// @brief NCCL for device memory, `host` for host memory, over the same ranks.
///
/// Each rank uses GPU (local rank mod visible GPUs), selected before backend::cuda's first use.
/// The device collectives are queued on that GPU's stream; synchronize() waits at most the
/// timeout, then aborts the NCCL communicator and throws an io_error naming it, so a dead rank
/// stops the others instead of hanging them. `host` must outlive this communicator.
class nccl_communicator final : public communicator, public device_collectives {
public:
    explicit nccl_communicator(communicator& host, std::chrono::milliseconds timeout = std::chrono::minutes(10))
        : host_(host), timeout_(timeout) {
        const auto launch = launched_world();
        const int count = backend::cuda_detail::device_count();
        const int local_rank = launch ? launch->local_rank : 0;
        backend::cuda_detail::use_device(count > 0 ? local_rank % count : 0);
        auto& device = backend::cuda::default_context();
        nccl_detail::unique_id id{};
        if (host_.rank() == 0) id = nccl_detail::make_unique_id();
        host_.broadcast(std::as_writable_bytes(std::span<char>(id)), 0);
        state_ = nccl_detail::create(device, host_.rank(), host_.size(), id);
    }
    nccl_communicator(const nccl_communicator&) = delete;
    nccl_communicator& operator=(const nccl_communicator&) = delete;
    ~nccl_communicator() override { nccl_detail::destroy(state_); }

    int rank() const noexcept override { return host_.rank(); }
    int size() const noexcept override { return host_.size(); }
    std::string name() const override { return "NCCL " + nccl_detail::version() + " over " + host_.name(); }

    void all_reduce_sum(std::span<float> values) override { host_.all_reduce_sum(values); }
    void all_reduce_sum(std::span<double> values) override { host_.all_reduce_sum(values); }
    void broadcast(std::span<std::byte> bytes, int root) override { host_.broadcast(bytes, root); }
    void all_gather(std::span<const std::byte> mine, std::span<std::byte> all, std::span<const std::size_t> counts) override {
        host_.all_gather(mine, all, counts);
    }
    void start_all_reduce_sum(std::span<float> values) override { host_.start_all_reduce_sum(values); }
    void start_all_reduce_sum(std::span<double> values) override { host_.start_all_reduce_sum(values); }
    void progress() override { host_.progress(); }
    void wait_all() override { host_.wait_all(); }

    device_collectives* device() noexcept override { return this; }

    void all_reduce_sum(float* values, std::size_t n) override { nccl_detail::all_reduce_sum(live(), values, n, false); }
    void all_reduce_sum(double* values, std::size_t n) override { nccl_detail::all_reduce_sum(live(), values, n, true); }
    void broadcast(void* data, std::size_t bytes, int root) override { nccl_detail::broadcast(live(), data, bytes, root); }
    void all_gather(const void* mine, void* all, std::span<const std::size_t> counts) override {
        if (counts.size() != static_cast<std::size_t>(size()))
            throw shape_error(where, "all_gather with " + std::to_string(counts.size()) + " counts for " + std::to_string(size()) + " ranks");
        nccl_detail::all_gather(live(), mine, all, counts);
    }
    void synchronize() override {
        if (nccl_detail::wait(live(), timeout_)) return;
        nccl_detail::abort(state_);
        state_ = nullptr;
        throw io_error(where, "a device collective did not complete within " + std::to_string(timeout_.count()) +
                                  " ms: another rank died or stopped calling collectives");
    }

private:
    static constexpr const char* where = "starbucks::distributed::nccl_communicator";
    nccl_detail::state* live() const {
        if (!state_) throw io_error(where, "the NCCL communicator was aborted after a timeout");
        return state_;
    }

    communicator& host_;
    std::chrono::milliseconds timeout_;
    nccl_detail::state* state_ = nullptr;
};

} // namespace distributed
STARBUCKS_NAMESPACE_END
