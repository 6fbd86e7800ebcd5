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
#include <utility>

#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace distributed {

/// Rank and world size as a launcher announced them, and the variable that said so.
struct launch_info {
    int rank = 0;
    int size = 1;
    std::string variable;
};

/// @brief The launch as Open MPI (OMPI_COMM_WORLD_SIZE/RANK) or a PMI launcher such as MPICH's
/// Hydra (PMI_SIZE/PMI_RANK) describes it; nullopt when neither set a world size.
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
    for (const auto& [size_var, rank_var] : {std::pair{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"}, std::pair{"PMI_SIZE", "PMI_RANK"}})
        if (const auto size = number(size_var)) return launch_info{number(rank_var).value_or(0), *size, size_var};
    return std::nullopt;
}

} // namespace distributed
STARBUCKS_NAMESPACE_END
