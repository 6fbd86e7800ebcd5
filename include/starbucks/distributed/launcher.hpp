// SPDX-License-Identifier: Apache-2.0
// distributed::launched_world: whether this process was started by an MPI launcher (mpirun,
// mpiexec, Hydra) as one of several ranks — read from the environment those launchers set, so a
// build without MPI can refuse to train alone while its siblings do the same.
#pragma once

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace distributed {

/// Rank and world size as a launcher announced them, the processes it started on this
/// machine, and the variable that said so.
struct launch_info {
    int rank = 0;
    int size = 1;
    int local_size = 1;
    std::string variable;
    int local_rank = 0; ///< this process's index among those on its machine (picks its GPU)
};

/// @brief The launch as Open MPI (OMPI_COMM_WORLD_SIZE/RANK/LOCAL_SIZE/LOCAL_RANK) or a PMI
/// launcher such as MPICH's Hydra (PMI_SIZE/PMI_RANK/MPI_LOCALNRANKS/MPI_LOCALRANKID) describes
/// it; nullopt when neither set a world size. Without a local count, all processes are taken
/// to share this machine (and the local rank is the rank).
inline std::optional<launch_info> launched_world() {
    const auto number = [](const char* name) -> std::optional<int> {
        const char* v = std::getenv(name);
        if (!v) return std::nullopt;
        int out = 0;
        const std::string_view s(v);
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
        return out;
    };
    struct names {
        const char *size, *rank, *local, *local_rank;
    };
    for (const names& n : {names{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
                           names{"PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS", "MPI_LOCALRANKID"}})
        if (const auto size = number(n.size)) {
            const int rank = number(n.rank).value_or(0);
            return launch_info{rank, *size, number(n.local).value_or(*size), n.size, number(n.local_rank).value_or(rank)};
        }
    return std::nullopt;
}

} // namespace distributed
STARBUCKS_NAMESPACE_END
