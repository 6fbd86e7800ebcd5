// SPDX-License-Identifier: Apache-2.0
// The compile-time probe: includes only the umbrella header and instantiates a tensor.
// docs/compile_time.md records how long `g++ -O2 -c` takes on this file.
#include <starbucks/starbucks.hpp>

starbucks::tensor<float, starbucks::extents<starbucks::dyn, 768>> make_probe_tensor(std::size_t tokens) {
    return starbucks::tensor<float, starbucks::extents<starbucks::dyn, 768>>(tokens);
}
