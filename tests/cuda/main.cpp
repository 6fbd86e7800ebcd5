// SPDX-License-Identifier: Apache-2.0
// The cuda suite's main. Without a usable GPU a device case is not run: it prints "no CUDA
// device: skipped", which ctest (SKIP_REGULAR_EXPRESSION) reports as skipped rather than
// passed. The one case about a machine without a GPU runs everywhere.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <starbucks/backend/cuda/launchers.hpp>

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    bool listing = false, filtered = false, no_gpu_case = false;
    for (int i = 1; i < argc; ++i) {
        listing = listing || std::strstr(argv[i], "list-test-cases") != nullptr || std::strcmp(argv[i], "-ltc") == 0;
        filtered = filtered || std::strncmp(argv[i], "--test-case=", 12) == 0 || std::strncmp(argv[i], "-tc=", 4) == 0;
        no_gpu_case = no_gpu_case || std::strstr(argv[i], "without a GPU") != nullptr;
    }
    std::string why;
    if (!listing && starbucks::backend::cuda_detail::device_count(&why) == 0) {
        if (filtered && !no_gpu_case) {
            std::printf("no CUDA device: skipped (cudaGetDeviceCount %s)\n", why.c_str());
            return 0;
        }
        if (!filtered) { // run by hand: only the case that needs no GPU
            std::printf("no GPU (cudaGetDeviceCount %s): running only the case that needs none\n", why.c_str());
            context.setOption("test-case", "*without a GPU*");
        }
    }
    return context.run();
}
