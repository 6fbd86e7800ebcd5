// SPDX-License-Identifier: Apache-2.0
// The benchmark main: prints what was measured (version, backends, dtype, threads), then runs.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <thread>

#include <starbucks/starbucks.hpp>

int main(int argc, char** argv) {
    std::printf("starbucks %s | backends: %s | dtypes: f32 f64 | hardware threads: %u | reference backend is single-threaded\n",
                STARBUCKS_VERSION_STRING, starbucks::backend::reference::name, std::thread::hardware_concurrency());
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
