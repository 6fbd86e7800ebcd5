// SPDX-License-Identifier: Apache-2.0
// One thread pool for the whole process: the OpenMP pool that oneDNN and Eigen both run on.
#pragma once

#include <cstdlib>
#include <string>

#include "../core/error.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

STARBUCKS_NAMESPACE_BEGIN
namespace backend {

/// @brief Sets the number of threads every CPU backend uses (oneDNN's OpenMP runtime and
/// Eigen's GEMM share one OpenMP pool, so they never oversubscribe each other).
/// Without OpenMP the backends run single-threaded and only 1 is accepted.
/// @throws usage_error for n < 1, or n > 1 in a build without OpenMP.
inline void set_num_threads(int n) {
    if (n < 1) throw usage_error("starbucks::backend::set_num_threads", "thread count " + std::to_string(n) + " must be at least 1");
#if defined(_OPENMP)
    omp_set_num_threads(n);
#else
    if (n != 1)
        throw usage_error("starbucks::backend::set_num_threads",
                          "this build has no OpenMP, so it runs on 1 thread; link starbucks::cpu_onednn or starbucks::cpu_eigen");
#endif
}

/// The threads the CPU backends will use.
inline int num_threads() noexcept {
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/// Applies STARBUCKS_NUM_THREADS from the environment when it is set (a `--threads` flag, read
/// later, wins by calling set_num_threads itself).
/// @throws usage_error when the variable is not a positive integer.
inline void apply_thread_environment() {
    const char* v = std::getenv("STARBUCKS_NUM_THREADS");
    if (!v || !*v) return;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end != '\0' || n < 1 || n > 4096)
        throw usage_error("starbucks::backend::apply_thread_environment", std::string("STARBUCKS_NUM_THREADS=\"") + v +
                                                                              "\" is not a thread count in 1..4096");
    set_num_threads(static_cast<int>(n));
}

} // namespace backend
STARBUCKS_NAMESPACE_END
