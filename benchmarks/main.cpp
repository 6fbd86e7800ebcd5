// SPDX-License-Identifier: Apache-2.0
// The benchmark main: prints what was measured (version, backends, dtype, threads), then runs.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include <starbucks/starbucks.hpp>

int main(int argc, char** argv) {
    std::fprintf(stderr, "starbucks %s | backends: reference%s%s | dtype: f32 | hardware threads: %u | OMP_NUM_THREADS=%s\n",
                STARBUCKS_VERSION_STRING,
#ifdef STARBUCKS_WITH_EIGEN
                " cpu_eigen",
#else
                "",
#endif
#ifdef STARBUCKS_WITH_ONEDNN
                " cpu_onednn",
#else
                "",
#endif
                std::thread::hardware_concurrency(), std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "(unset)");
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
