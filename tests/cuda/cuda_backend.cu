// SPDX-License-Identifier: Apache-2.0
// The one CUDA translation unit of the test programs: backend::cuda's kernels and launchers.
#include <starbucks/backend/cuda/implementation.cuh>
