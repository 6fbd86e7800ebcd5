// SPDX-License-Identifier: Apache-2.0
// starbucks_cli::open_world: the processes a training run shares its batches with — one process,
// or every rank of an `mpirun -np N starbucks train ...` launch when the build has starbucks::mpi.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <starbucks/distributed/communicator.hpp>
#include <starbucks/distributed/launcher.hpp>
#include <starbucks/train/interrupt.hpp>
#ifdef STARBUCKS_WITH_MPI
#include <starbucks/distributed/mpi_communicator.hpp>
#endif
#if defined(STARBUCKS_WITH_MPI) && defined(STARBUCKS_WITH_NCCL)
#include <starbucks/distributed/nccl_communicator.hpp>
#endif

#include "common.hpp"
#include "runtime.hpp"

namespace starbucks_cli {

namespace detail {
inline std::unique_ptr<sb::distributed::communicator>& world_slot() {
    static std::unique_ptr<sb::distributed::communicator> world;
    return world;
}
/// The MPI world under an NCCL one (NCCL moves device memory, MPI the rest).
inline std::unique_ptr<sb::distributed::communicator>& host_world_slot() {
    static std::unique_ptr<sb::distributed::communicator> world;
    return world;
}
} // namespace detail

/// @brief The ranks of this run, opened once: MPI when a launcher started several processes
/// (with NCCL over it for a `device` backend, in a build with NCCL), else this process alone.
/// Collectives give up after `timeout_seconds`; SIGINT/SIGTERM are caught from here on (a rank
/// waiting on a failed one then ends with an error, not a hang).
/// @throws usage_error when launched as several ranks by a build without MPI, or for a bad timeout.
inline sb::distributed::communicator& open_world(double timeout_seconds, bool device = false) {
    auto& world = detail::world_slot();
    if (world) return *world;
    if (!(timeout_seconds > 0) || timeout_seconds > 1e7) throw sb::usage_error("--collective-timeout", "must be a positive number of seconds");
    const auto launch = sb::distributed::launched_world();
    if (!launch || launch->size <= 1) {
        world = std::make_unique<sb::distributed::single_process>();
        return *world;
    }
#ifdef STARBUCKS_WITH_MPI
    stop_training_on_signals();
    auto mpi = std::make_unique<sb::distributed::mpi_communicator>(
        std::chrono::milliseconds(static_cast<long long>(timeout_seconds * 1000)));
    mpi->set_stop_check([] { return sb::train::stop_requested(); });
#ifdef STARBUCKS_WITH_NCCL
    if (device) {
        auto& host = detail::host_world_slot();
        host = std::move(mpi);
        world = std::make_unique<sb::distributed::nccl_communicator>(*host, std::chrono::milliseconds(static_cast<long long>(timeout_seconds * 1000)));
        return *world;
    }
#endif
    (void)device; // without NCCL, the trainers refuse a device backend on several ranks
    world = std::move(mpi);
    return *world;
#else
    throw sb::usage_error("starbucks::distributed", "this process is rank " + std::to_string(launch->rank) + " of " + std::to_string(launch->size) +
                                                        " (" + launch->variable + ") but starbucks was built without MPI; rebuild with "
                                                        "-DSTARBUCKS_WITH_MPI=ON (Debian: libopenmpi-dev) or run one process");
#endif
}

/// The world open_world made, or null.
inline sb::distributed::communicator* opened_world() { return detail::world_slot().get(); }

/// @brief After an error was printed: ends every rank of a multi-process run with `exit_code`,
/// so none waits for this one (MPI_Abort). Does nothing for one process.
inline void end_world_after_error(int exit_code) {
#ifdef STARBUCKS_WITH_MPI
    for (auto* w : {opened_world(), detail::host_world_slot().get()})
        if (auto* mpi = dynamic_cast<sb::distributed::mpi_communicator*>(w); mpi && mpi->size() > 1) {
            std::fflush(stderr);
            mpi->abort(exit_code);
        }
#endif
    (void)exit_code;
}

/// @brief Whether the gradient sum runs during the backward pass: `on`, `off`, or `auto` — on
/// only when some processes run on other machines, where a network card moves the bytes while
/// the cores compute. On one machine the same cores would make the copies, and overlapping
/// measured no faster there (docs/distributed.md).
inline bool overlap_gradient_sum(const std::string& mode) {
    if (mode != "auto") return mode == "on";
    const auto launch = sb::distributed::launched_world();
    return launch && launch->local_size < launch->size;
}

/// @brief The CPU threads of each of the world's processes when neither --threads nor the
/// environment says: the cores shared by the processes on this machine.
inline std::int64_t threads_per_process(std::int64_t requested) {
    if (requested != 0 || std::getenv("STARBUCKS_NUM_THREADS") || std::getenv("OMP_NUM_THREADS")) return requested;
    const auto launch = sb::distributed::launched_world();
    if (!launch || launch->local_size <= 1) return requested;
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::thread::hardware_concurrency()) / launch->local_size);
}

} // namespace starbucks_cli
