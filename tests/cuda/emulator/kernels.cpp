// SPDX-License-Identifier: Apache-2.0
// backend::cuda's kernels and launchers compiled by the host compiler against the emulated
// CUDA runtime and cuBLAS(Lt) of this folder (its headers shadow the toolkit's), for the
// `cuda-emulated` suite: the same test objects as the `cuda` suite, linked against this.
#include <starbucks/backend/cuda/implementation.cuh>
