// SPDX-License-Identifier: Apache-2.0
// Stands in for the CUDA runtime's <cuda_runtime.h> when backend::cuda's kernels are compiled
// by the host compiler for the emulated device (engine.hpp): the keywords, built-ins and
// intrinsics the kernels use, and the runtime calls state.cuh makes, with the runtime's
// documented results (status codes, copy directions checked against where pointers live).
// Only what backend::cuda calls is here; anything else fails to compile, on purpose.
#pragma once

#include <math.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine.hpp"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local
// The emulated device is an sm_90, and reports itself as one.
#define __CUDA_ARCH_LIST__ 900

/// `kernel<<<grid, block, 0, stream>>>(args...)`, run at once (the stream is in order anyway).
/// The kernel is named inside a generic lambda so a template kernel deduces its arguments as
/// it does in a launch.
#define STARBUCKS_CUDA_LAUNCH(grid, block, stream, ...)                                                         \
    ::starbucks_cuda_emulator::make_launch(dim3(grid), dim3(block), (stream), #__VA_ARGS__,                      \
                                           [](auto... starbucks_args) { __VA_ARGS__(starbucks_args...); })

// ---- intrinsics ------------------------------------------------------------------------------

inline void __syncthreads() { starbucks_cuda_emulator::block_scheduler::current().syncthreads(); }

/// A full-mask warp barrier, modelled as a shuffle that exchanges nothing: it opens, and faults
/// (divergence, exited lanes), exactly where a full-mask shuffle would.
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    if (mask != 0xffffffffu) throw starbucks_cuda_emulator::kernel_fault("the emulator models full-mask __syncwarp only");
    starbucks_cuda_emulator::block_scheduler::current().shuffle_xor(0, 0);
}

template <class T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>);
    if (mask != 0xffffffffu || width != 32)
        throw starbucks_cuda_emulator::kernel_fault("the emulator models full-mask, full-width shuffles only");
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof value);
    bits = starbucks_cuda_emulator::block_scheduler::current().shuffle_xor(bits, lane_mask);
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

// One OS thread runs every fiber and a fiber is never preempted between a read and a write, so
// a plain read-modify-write is atomic here.
inline float atomicAdd(float* p, float v) {
    const float old = *p;
    *p = old + v;
    return old;
}
inline double atomicAdd(double* p, double v) {
    const double old = *p;
    *p = old + v;
    return old;
}
inline unsigned atomicAdd(unsigned* p, unsigned v) {
    const unsigned old = *p;
    *p = old + v;
    return old;
}
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    const unsigned long long old = *p;
    *p = old + v;
    return old;
}
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
    const unsigned long long old = *p;
    if (v < old) *p = v;
    return old;
}

inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __uint_as_float(unsigned u) { return std::bit_cast<float>(u); }
inline unsigned __float_as_uint(float f) { return std::bit_cast<unsigned>(f); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

// ---- runtime API ---------------------------------------------------------------------------

enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDeviceFunction = 98,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorNoKernelImageForDevice = 209,
    cudaErrorNotReady = 600,
    cudaErrorLaunchFailure = 719,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaMemoryType { cudaMemoryTypeUnregistered = 0, cudaMemoryTypeHost = 1, cudaMemoryTypeDevice = 2 };
enum cudaDeviceAttr { cudaDevAttrClockRate = 13 };
enum cudaDataType { CUDA_R_32F = 0, CUDA_R_16BF = 14 };
using cudaDataType_t = cudaDataType;
constexpr unsigned cudaStreamNonBlocking = 1;

struct CUstream_st {
    int id;
};
using cudaStream_t = CUstream_st*;

struct cudaDeviceProp {
    char name[256] = {};
    int major = 0, minor = 0, multiProcessorCount = 0;
    std::size_t totalGlobalMem = 0;
};
struct cudaFuncAttributes {
    int maxThreadsPerBlock = 0;
};
struct cudaPointerAttributes {
    cudaMemoryType type = cudaMemoryTypeUnregistered;
    int device = 0;
};

namespace starbucks_cuda_emulator {
inline thread_local cudaError_t last_error = cudaSuccess;
inline cudaError_t fail(cudaError_t e) {
    last_error = e;
    return e;
}
/// Pinned host allocations (cudaMallocHost), which the runtime reports as host memory.
inline std::map<const void*, std::size_t>& pinned() {
    static std::map<const void*, std::size_t> m;
    return m;
}
inline bool is_device(const void* p, std::size_t bytes) { return device_memory::get().contains(p, bytes); }
} // namespace starbucks_cuda_emulator

inline const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorNoKernelImageForDevice: return "cudaErrorNoKernelImageForDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "cudaErrorUnknown";
}
inline const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorLaunchFailure: return starbucks_cuda_emulator::last_fault.c_str();
    default: return "unrecognized error code";
    }
}
inline cudaError_t cudaGetLastError() {
    using namespace starbucks_cuda_emulator;
    cudaError_t e = last_error;
    if (e == cudaSuccess && last_launch_error != 0) e = static_cast<cudaError_t>(last_launch_error);
    last_error = cudaSuccess;
    last_launch_error = 0;
    return e;
}

inline cudaError_t cudaGetDeviceCount(int* n) {
    *n = 1;
    return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* d) {
    *d = 0;
    return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int device) {
    return device == 0 ? cudaSuccess : starbucks_cuda_emulator::fail(cudaErrorInvalidDevice);
}
namespace starbucks_cuda_emulator {
/// The emulated device's compute capability as major·10 + minor: 90 (an sm_90, which the kernels
/// are "compiled" for), or STARBUCKS_CUDA_EMULATOR_CC (e.g. 80) to play a GPU this build has no
/// kernel image for.
inline int compute_capability() {
    const char* env = std::getenv("STARBUCKS_CUDA_EMULATOR_CC");
    return env ? std::atoi(env) : 90;
}
} // namespace starbucks_cuda_emulator

inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
    if (device != 0) return starbucks_cuda_emulator::fail(cudaErrorInvalidValue);
    *p = cudaDeviceProp{};
    const int cc = starbucks_cuda_emulator::compute_capability();
    std::strcpy(p->name, cc == 90 ? "starbucks host emulation of an sm_90 device" : "starbucks host emulation of another device");
    p->major = cc / 10;
    p->minor = cc % 10;
    p->multiProcessorCount = 1;
    p->totalGlobalMem = starbucks_cuda_emulator::device_memory::get().capacity();
    return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr, int) {
    *v = 0; // a clock rate the emulation does not have
    return cudaSuccess;
}
/// As the runtime answers for a device with no kernel image (nor PTX it can JIT) in the program.
template <class F>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, F) {
    if (starbucks_cuda_emulator::compute_capability() * 10 != __CUDA_ARCH_LIST__)
        return starbucks_cuda_emulator::fail(cudaErrorNoKernelImageForDevice);
    a->maxThreadsPerBlock = 1024;
    return cudaSuccess;
}

inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
    *s = new CUstream_st{1};
    return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; } // work ran when queued

inline cudaError_t cudaMalloc(void** p, std::size_t bytes) {
    *p = starbucks_cuda_emulator::device_memory::get().allocate(bytes);
    return *p ? cudaSuccess : starbucks_cuda_emulator::fail(cudaErrorMemoryAllocation);
}
inline cudaError_t cudaFree(void* p) {
    if (!p) return cudaSuccess;
    return starbucks_cuda_emulator::device_memory::get().release(p) ? cudaSuccess
                                                                     : starbucks_cuda_emulator::fail(cudaErrorInvalidValue);
}
inline cudaError_t cudaMallocHost(void** p, std::size_t bytes) {
    *p = std::malloc(bytes ? bytes : 1);
    if (!*p) return starbucks_cuda_emulator::fail(cudaErrorMemoryAllocation);
    starbucks_cuda_emulator::pinned()[*p] = bytes;
    return cudaSuccess;
}
template <class T>
cudaError_t cudaMallocHost(T** p, std::size_t bytes) {
    return cudaMallocHost(reinterpret_cast<void**>(p), bytes);
}
inline cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total) {
    auto& m = starbucks_cuda_emulator::device_memory::get();
    *total = m.capacity();
    *free_bytes = m.capacity() - m.used();
    return cudaSuccess;
}
inline cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p) {
    using namespace starbucks_cuda_emulator;
    a->type = is_device(p, 1) ? cudaMemoryTypeDevice : pinned().count(p) ? cudaMemoryTypeHost : cudaMemoryTypeUnregistered;
    return cudaSuccess;
}

/// Copies check each side against the direction: a host pointer passed as a device one (or the
/// reverse) is cudaErrorInvalidValue, not a silent copy.
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
    using namespace starbucks_cuda_emulator;
    const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (dst_device != is_device(dst, bytes) || src_device != is_device(src, bytes)) return fail(cudaErrorInvalidValue);
    device_memory::scope open;
    std::memmove(dst, src, bytes);
    return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t) {
    using namespace starbucks_cuda_emulator;
    if (!is_device(dst, bytes)) return fail(cudaErrorInvalidValue);
    device_memory::scope open;
    std::memset(dst, value, bytes);
    return cudaSuccess;
}
