// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: the NCCL calls behind distributed::nccl_communicator, compiled by
// the program's CUDA translation unit when STARBUCKS_WITH_NCCL is defined. Every call is checked
// and a failure becomes an io_error naming the call and NCCL's result.
#pragma once

#include <nccl.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "../../../distributed/nccl_communicator.hpp"
#include "state.cuh"

STARBUCKS_NAMESPACE_BEGIN
namespace distributed::nccl_detail {

struct state {
    ncclComm_t comm = nullptr;
    cudaStream_t stream = nullptr;
    int rank = 0, size = 1;
};

inline void check(ncclResult_t r, const char* call) {
    if (r == ncclSuccess) return;
    throw io_error("starbucks::distributed::nccl_communicator",
                   std::string(call) + " returned " + std::to_string(static_cast<int>(r)) + ": " + ncclGetErrorString(r));
}
#define STARBUCKS_NCCL_CHECK(call) ::starbucks::distributed::nccl_detail::check((call), #call)

static_assert(sizeof(ncclUniqueId) == sizeof(unique_id), "NCCL_UNIQUE_ID_BYTES changed");

unique_id make_unique_id() {
    ncclUniqueId id;
    STARBUCKS_NCCL_CHECK(ncclGetUniqueId(&id));
    unique_id out;
    std::memcpy(out.data(), &id, sizeof id);
    return out;
}

state* create(backend::cuda_detail::device_state& device, int rank, int size, const unique_id& id) {
    ncclUniqueId nid;
    std::memcpy(&nid, id.data(), sizeof nid);
    auto* s = new state{nullptr, device.stream(), rank, size};
    const ncclResult_t r = ncclCommInitRank(&s->comm, size, nid, rank);
    if (r != ncclSuccess) {
        delete s;
        check(r, "ncclCommInitRank");
    }
    return s;
}

void destroy(state* s) noexcept {
    if (!s) return;
    ncclCommDestroy(s->comm);
    delete s;
}

void abort(state* s) noexcept {
    if (!s) return;
    ncclCommAbort(s->comm);
    delete s;
}

std::string version() {
    int v = 0;
    if (ncclGetVersion(&v) != ncclSuccess) return "(version unknown)";
    // NCCL >= 2.9 encodes major * 10000 + minor * 100 + patch.
    return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

void all_reduce_sum(state* s, void* data, std::size_t n, bool is_double) {
    if (n == 0) return;
    STARBUCKS_NCCL_CHECK(ncclAllReduce(data, data, n, is_double ? ncclDouble : ncclFloat, ncclSum, s->comm, s->stream));
}

void broadcast(state* s, void* data, std::size_t bytes, int root) {
    if (bytes == 0) return;
    STARBUCKS_NCCL_CHECK(ncclBroadcast(data, data, bytes, ncclUint8, root, s->comm, s->stream));
}

/// Ranks may send different counts (ncclAllGather needs equal ones): one broadcast per rank,
/// grouped into one NCCL operation.
void all_gather(state* s, const void* mine, void* all, std::span<const std::size_t> counts) {
    STARBUCKS_NCCL_CHECK(ncclGroupStart());
    std::size_t offset = 0;
    ncclResult_t failed = ncclSuccess;
    for (int r = 0; r < s->size; ++r) {
        const std::size_t n = counts[static_cast<std::size_t>(r)];
        char* slot = static_cast<char*>(all) + offset;
        if (n > 0 && failed == ncclSuccess)
            failed = ncclBroadcast(r == s->rank ? mine : slot, slot, n, ncclUint8, r, s->comm, s->stream);
        offset += n;
    }
    const ncclResult_t ended = ncclGroupEnd();
    check(failed, "ncclBroadcast (all_gather)");
    check(ended, "ncclGroupEnd (all_gather)");
}

bool wait(state* s, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const cudaError_t q = cudaStreamQuery(s->stream);
        if (q == cudaSuccess) return true;
        if (q != cudaErrorNotReady) backend::cuda_detail::check(q, "cudaStreamQuery (waiting for NCCL)");
        ncclResult_t async = ncclSuccess;
        STARBUCKS_NCCL_CHECK(ncclCommGetAsyncError(s->comm, &async));
        if (async != ncclSuccess && async != ncclInProgress) check(async, "an NCCL collective (ncclCommGetAsyncError)");
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
}

} // namespace distributed::nccl_detail
STARBUCKS_NAMESPACE_END
