// SPDX-License-Identifier: Apache-2.0
// The one CUDA translation unit of the starbucks executable: backend::cuda's kernels, for
// `--backend cuda` (built when the CUDA component is).
#include <starbucks/backend/cuda/implementation.cuh>
