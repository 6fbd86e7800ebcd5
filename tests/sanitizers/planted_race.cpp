// SPDX-License-Identifier: Apache-2.0
// A deliberate data race inside backend::detail::parallel_chunks: every chunk adds into one
// unguarded total. Under the `tsan` preset ctest expects this program to FAIL (WILL_FAIL), which
// proves ThreadSanitizer, with the OpenMP runtime's annotations (archer), sees races in our loops.
#include <cstdio>
#include <vector>

#include <starbucks/backend/cpu_common/parallel.hpp>

int main() {
    std::vector<double> values(1 << 16, 1.0);
    double total = 0; // shared by every thread, no reduction: the planted race
    starbucks::backend::detail::parallel_chunks(values.size(), 1024, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) total += values[i];
    });
    std::printf("%.0f\n", total);
    return 0;
}
