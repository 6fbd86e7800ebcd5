// SPDX-License-Identifier: Apache-2.0
// Stands in for <nccl.h> on the emulated device: the calls distributed::nccl_communicator
// makes, carried by MPI between the processes of an `mpiexec` run (each process emulates one
// GPU, whose memory is host memory). The communicator's ranks must be MPI_COMM_WORLD's, in
// order. Collectives run when they are queued, as the emulated stream does; a group of them is
// the same collectives in the same order on every rank, which is what NCCL requires anyway.
#pragma once

#include <mpi.h>

#include <cstring>

#include "cuda_runtime.h"

enum ncclResult_t {
    ncclSuccess = 0,
    ncclUnhandledCudaError = 1,
    ncclSystemError = 2,
    ncclInternalError = 3,
    ncclInvalidArgument = 4,
    ncclInvalidUsage = 5,
    ncclRemoteError = 6,
    ncclInProgress = 7,
};
enum ncclDataType_t { ncclUint8 = 1, ncclFloat = 7, ncclDouble = 8 };
enum ncclRedOp_t { ncclSum = 0 };
struct ncclUniqueId {
    char internal[128];
};
struct ncclComm {
    int rank, size;
    MPI_Comm mpi;
};
using ncclComm_t = ncclComm*;

namespace starbucks_cuda_emulator {
inline MPI_Datatype mpi_type(ncclDataType_t t) { return t == ncclFloat ? MPI_FLOAT : t == ncclDouble ? MPI_DOUBLE : MPI_BYTE; }
inline std::size_t nccl_size(ncclDataType_t t) { return t == ncclFloat ? 4 : t == ncclDouble ? 8 : 1; }
inline ncclResult_t mpi_result(int rc) { return rc == MPI_SUCCESS ? ncclSuccess : ncclRemoteError; }
} // namespace starbucks_cuda_emulator

inline const char* ncclGetErrorString(ncclResult_t r) {
    switch (r) {
    case ncclSuccess: return "no error";
    case ncclInvalidArgument: return "invalid argument (emulated NCCL)";
    case ncclRemoteError: return "remote process exited or there was a network error (emulated NCCL: an MPI call failed)";
    default: return "emulated NCCL error";
    }
}
inline ncclResult_t ncclGetVersion(int* v) {
    *v = 22800; // reports the toolkit's 2.28.0; the transport is MPI
    return ncclSuccess;
}
inline ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
    std::memset(id->internal, 0, sizeof id->internal);
    std::strcpy(id->internal, "starbucks emulated NCCL over MPI_COMM_WORLD");
    return ncclSuccess;
}
inline ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
    int initialized = 0, world = 0, me = 0;
    MPI_Initialized(&initialized);
    if (!initialized || std::strcmp(id.internal, "starbucks emulated NCCL over MPI_COMM_WORLD") != 0) return ncclInvalidUsage;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    if (nranks != world || rank != me) return ncclInvalidArgument;
    *comm = new ncclComm{rank, nranks, MPI_COMM_NULL};
    MPI_Comm_dup(MPI_COMM_WORLD, &(*comm)->mpi);
    return ncclSuccess;
}
inline ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm->mpi);
    delete comm;
    return ncclSuccess;
}
inline ncclResult_t ncclCommAbort(ncclComm_t comm) { return ncclCommDestroy(comm); }
inline ncclResult_t ncclCommGetAsyncError(ncclComm_t, ncclResult_t* r) {
    *r = ncclSuccess;
    return ncclSuccess;
}
inline ncclResult_t ncclGroupStart() { return ncclSuccess; }
inline ncclResult_t ncclGroupEnd() { return ncclSuccess; }

/// Buffers must be device memory, as NCCL's must.
inline ncclResult_t ncclAllReduce(const void* send, void* recv, std::size_t count, ncclDataType_t type, ncclRedOp_t, ncclComm_t comm,
                                  cudaStream_t) {
    using namespace starbucks_cuda_emulator;
    const std::size_t bytes = count * nccl_size(type);
    if (!is_device(send, bytes) || !is_device(recv, bytes) || count > 0x7fffffff) return ncclInvalidArgument;
    device_memory::scope open;
    if (send != recv) std::memcpy(recv, send, bytes);
    return mpi_result(MPI_Allreduce(MPI_IN_PLACE, recv, static_cast<int>(count), mpi_type(type), MPI_SUM, comm->mpi));
}
inline ncclResult_t ncclBroadcast(const void* send, void* recv, std::size_t count, ncclDataType_t type, int root, ncclComm_t comm,
                                  cudaStream_t) {
    using namespace starbucks_cuda_emulator;
    const std::size_t bytes = count * nccl_size(type);
    if ((comm->rank == root && !is_device(send, bytes)) || !is_device(recv, bytes) || count > 0x7fffffff || root < 0 || root >= comm->size)
        return ncclInvalidArgument;
    device_memory::scope open;
    if (comm->rank == root && send != recv) std::memcpy(recv, send, bytes);
    return mpi_result(MPI_Bcast(recv, static_cast<int>(count), mpi_type(type), root, comm->mpi));
}
