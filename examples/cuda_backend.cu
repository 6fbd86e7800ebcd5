// SPDX-License-Identifier: Apache-2.0
// The one CUDA translation unit of this project's own programs (tests, the starbucks
// executable, benchmarks): backend::cuda's kernels and launchers, compiled once into the
// starbucks_cuda_kernels library (cmake/StarbucksDevFlags.cmake) that they all link.
#include <starbucks/backend/cuda/implementation.cuh>
