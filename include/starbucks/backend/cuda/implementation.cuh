// SPDX-License-Identifier: Apache-2.0
// The definitions behind backend::cuda: include this in exactly one .cu file of a program
// (compiled by nvcc with -std=c++20 --expt-relaxed-constexpr), like
//
//     // cuda_backend.cu
//     #include <starbucks/backend/cuda/implementation.cuh>
//
// Every other file includes the plain C++ <starbucks/backend/cuda/cuda.hpp>.
#pragma once

#if !defined(__CUDACC__) && !defined(STARBUCKS_CUDA_EMULATOR)
#error "starbucks/backend/cuda/implementation.cuh is CUDA: include it from one .cu file compiled by nvcc"
#endif

#include "cuda.hpp"
#include "kernels/state.cuh"
#include "kernels/common.cuh"
#include "kernels/elementwise.cuh"
#include "kernels/rows.cuh"
#include "kernels/gather.cuh"
#include "kernels/loss.cuh"
#include "kernels/optim.cuh"
#include "kernels/random.cuh"
#include "kernels/gemm.cuh"
#include "kernels/attention.cuh"
#ifdef STARBUCKS_WITH_NCCL
#include "kernels/nccl.cuh"
#endif
