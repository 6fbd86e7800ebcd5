// expect: starbucks::backend::cuda::softmax: float only
// SPDX-License-Identifier: Apache-2.0
// A double softmax on backend::cuda: the device kernels are f32, so the policy refuses at
// compile time instead of leaving an undefined symbol for the linker. It also shows that host
// code names backend::cuda without any CUDA header (-fsyntax-only, no CUDA include path).
#define STARBUCKS_WITH_CUDA 1
#include <starbucks/starbucks.hpp>
#include <starbucks/backend/cuda/cuda.hpp>

// With -DSTARBUCKS_COMPILE_FAIL_CONTROL the element type is float and the program compiles.
#ifdef STARBUCKS_COMPILE_FAIL_CONTROL
using element = float;
#else
using element = double;
#endif

void run(starbucks::tensor<element, starbucks::extents<starbucks::dyn, 8>, starbucks::backend::cuda>& x) {
    auto y = starbucks::softmax(x);
    (void)y;
}
