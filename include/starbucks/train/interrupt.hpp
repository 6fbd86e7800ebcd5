// SPDX-License-Identifier: Apache-2.0
// train::request_stop and train::interrupted: a graceful stop (SIGINT, SIGTERM) that finishes the
// current optimizer step, commits a checkpoint and unwinds, so nothing trained is lost.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace train {

namespace detail {
inline std::atomic<int>& stop_signal() noexcept {
    static std::atomic<int> signal{0};
    return signal;
}
static_assert(std::atomic<int>::is_always_lock_free, "request_stop must be safe to call from a signal handler");
} // namespace detail

/// @brief Asks every running train::run_steps loop to stop after its current step; `signal`
/// (non-zero, e.g. SIGINT) is reported back in train::interrupted. Safe in a signal handler.
inline void request_stop(int signal) noexcept { detail::stop_signal().store(signal, std::memory_order_relaxed); }

/// The signal passed to request_stop, or 0 when no stop was requested.
inline int stop_requested() noexcept { return detail::stop_signal().load(std::memory_order_relaxed); }

/// Forgets a stop request (a new run in the same process).
inline void clear_stop_request() noexcept { detail::stop_signal().store(0, std::memory_order_relaxed); }

/// @brief Thrown by run_steps after a requested stop: the step it finished and the checkpoint
/// committed for it (empty when the loop had no checkpoint folder).
struct interrupted : std::runtime_error {
    std::uint64_t step;
    int signal;
    std::filesystem::path checkpoint;
    interrupted(std::uint64_t step_done, int sig, std::filesystem::path saved)
        : std::runtime_error("interrupted after step " + std::to_string(step_done) +
                             (saved.empty() ? std::string("; no checkpoint folder was given") : "; checkpoint " + saved.string() + " committed")),
          step(step_done), signal(sig), checkpoint(std::move(saved)) {}
};

} // namespace train
STARBUCKS_NAMESPACE_END
