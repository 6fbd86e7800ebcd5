// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: checked CUDA and cuBLAS calls, the device state (stream, handles,
// workspace, block cache, the device-side error slot) and transfers.
// Compiled once per program through implementation.cuh.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <climits>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>

#include "../../../core/error.hpp"
#include "../block_cache.hpp"
#include "../launchers.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

/// "cudaErrorNoDevice (100): no CUDA-capable device is detected"
inline std::string describe(cudaError_t s) {
    return std::string(cudaGetErrorName(s)) + " (" + std::to_string(static_cast<int>(s)) + "): " + cudaGetErrorString(s);
}
inline std::string describe(cublasStatus_t s) {
    return std::string(cublasGetStatusName(s)) + " (" + std::to_string(static_cast<int>(s)) + "): " +
           cublasGetStatusString(s);
}

/// Turns a failed CUDA runtime call into a starbucks error naming the call and its status:
/// out of memory is a resource_error, anything else an internal_error.
inline void check(cudaError_t s, const char* call) {
    if (s == cudaSuccess) return;
    cudaGetLastError(); // clear a non-sticky error so the next call is not blamed for it
    if (s == cudaErrorMemoryAllocation) throw resource_error("starbucks::backend::cuda", std::string(call) + " returned " + describe(s));
    throw internal_error("starbucks::backend::cuda", std::string(call) + " returned " + describe(s));
}
inline void check(cublasStatus_t s, const char* call) {
    if (s == CUBLAS_STATUS_SUCCESS) return;
    if (s == CUBLAS_STATUS_ALLOC_FAILED) throw resource_error("starbucks::backend::cuda", std::string(call) + " returned " + describe(s));
    throw internal_error("starbucks::backend::cuda", std::string(call) + " returned " + describe(s));
}
#define STARBUCKS_CUDA_CHECK(call) ::starbucks::backend::cuda_detail::check((call), #call)

/// After a launch: a bad configuration or a missing kernel image is reported here, naming the kernel.
inline void check_launch(const char* kernel) {
    const cudaError_t s = cudaGetLastError();
    if (s == cudaSuccess) return;
    if (s == cudaErrorNoKernelImageForDevice || s == cudaErrorInvalidDeviceFunction)
        throw unsupported_error("starbucks::backend::cuda", std::string("launching ") + kernel + ": " + describe(s) +
                                                               "; rebuild with CMAKE_CUDA_ARCHITECTURES covering this GPU");
    throw internal_error("starbucks::backend::cuda", std::string("launching ") + kernel + ": " + describe(s));
}

/// The architectures nvcc compiled this program for ("900" for sm_90).
inline std::string compiled_architectures() {
#ifdef __CUDA_ARCH_LIST__
#define STARBUCKS_CUDA_STR2(x) #x
#define STARBUCKS_CUDA_STR(x) STARBUCKS_CUDA_STR2(x)
    return STARBUCKS_CUDA_STR(__CUDA_ARCH_LIST__);
#undef STARBUCKS_CUDA_STR
#undef STARBUCKS_CUDA_STR2
#else
    return "unknown";
#endif
}

__global__ void probe_kernel(int* out) {
    if (out) *out = 1;
}

/// Where a kernel reports a bad index: slot[0] = the smallest offending position (or ULLONG_MAX),
/// slot[1] its value. Checked on the host right after the kernels that index.
struct error_slot {
    unsigned long long position = ULLONG_MAX;
    long long value = 0;
};

class device_state {
public:
    device_state() {
        std::string why;
        if (device_count(&why) == 0)
            throw resource_error("starbucks::backend::cuda", "no CUDA device: cudaGetDeviceCount " + why);
        STARBUCKS_CUDA_CHECK(cudaGetDevice(&ordinal_));
        STARBUCKS_CUDA_CHECK(cudaGetDeviceProperties(&props_, ordinal_));
        // A GPU this program has no kernel image (or PTX) for fails here, not at the first op.
        cudaFuncAttributes attr{};
        const cudaError_t s = cudaFuncGetAttributes(&attr, probe_kernel);
        if (s != cudaSuccess) {
            cudaGetLastError();
            throw unsupported_error("starbucks::backend::cuda",
                                    "device " + std::to_string(ordinal_) + " (" + props_.name + ", compute capability " +
                                        std::to_string(props_.major) + "." + std::to_string(props_.minor) +
                                        ") cannot run this build (compiled for " + compiled_architectures() + "): " +
                                        describe(s) + "; rebuild with CMAKE_CUDA_ARCHITECTURES set for it");
        }
        STARBUCKS_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        STARBUCKS_CUDA_CHECK(cublasCreate(&cublas_));
        STARBUCKS_CUDA_CHECK(cublasSetStream(cublas_, stream_));
        // Full f32 products: TF32 would break the 1e-5 agreement with backend::reference.
        STARBUCKS_CUDA_CHECK(cublasSetMathMode(cublas_, CUBLAS_PEDANTIC_MATH));
        STARBUCKS_CUDA_CHECK(cublasLtCreate(&lt_));
        cache_ = new block_cache(
            [](std::size_t bytes) -> void* {
                void* p = nullptr;
                const cudaError_t e = cudaMalloc(&p, bytes);
                if (e == cudaErrorMemoryAllocation) {
                    cudaGetLastError();
                    return nullptr;
                }
                check(e, "cudaMalloc");
                return p;
            },
            [](void* p) { cudaFree(p); },
            [] {
                std::size_t free_bytes = 0, total = 0;
                if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) return std::string("device memory unknown");
                return "device has " + std::to_string(free_bytes) + " of " + std::to_string(total) + " bytes free";
            });
        workspace_bytes_ = std::size_t{32} << 20;
        workspace_ = cache_->allocate(workspace_bytes_);
        slot_ = static_cast<error_slot*>(cache_->allocate(sizeof(error_slot)));
        reset_slot();
    }
    // The state lives until the process ends (never destroyed: the CUDA runtime may already be
    // torn down when static destructors run).
    device_state(const device_state&) = delete;
    device_state& operator=(const device_state&) = delete;

    cudaStream_t stream() const noexcept { return stream_; }
    cublasHandle_t cublas() const noexcept { return cublas_; }
    cublasLtHandle_t lt() const noexcept { return lt_; }
    void* workspace() const noexcept { return workspace_; }
    std::size_t workspace_bytes() const noexcept { return workspace_bytes_; }
    block_cache& cache() noexcept { return *cache_; }
    const cudaDeviceProp& props() const noexcept { return props_; }
    int ordinal() const noexcept { return ordinal_; }
    error_slot* slot() const noexcept { return slot_; }
    std::mutex& mutex() noexcept { return mutex_; }

    void reset_slot() {
        const error_slot clear{};
        STARBUCKS_CUDA_CHECK(cudaMemcpyAsync(slot_, &clear, sizeof clear, cudaMemcpyHostToDevice, stream_));
    }
    /// Waits for the stream and returns the slot (cleared for the next kernel).
    error_slot take_slot() {
        error_slot got{};
        STARBUCKS_CUDA_CHECK(cudaMemcpyAsync(&got, slot_, sizeof got, cudaMemcpyDeviceToHost, stream_));
        STARBUCKS_CUDA_CHECK(cudaStreamSynchronize(stream_));
        if (got.position != ULLONG_MAX) reset_slot();
        return got;
    }

    /// Device scratch for one call, back to the cache when it goes out of scope (stream order
    /// keeps it alive for the kernels already queued).
    struct scratch {
        device_state* s;
        void* p;
        scratch(device_state& st, std::size_t bytes) : s(&st), p(st.cache().allocate(bytes)) {}
        ~scratch() { s->cache().deallocate(p); }
        scratch(const scratch&) = delete;
        scratch& operator=(const scratch&) = delete;
        template <class T>
        T* as() const noexcept { return static_cast<T*>(p); }
    };

private:
    int ordinal_ = 0;
    cudaDeviceProp props_{};
    cudaStream_t stream_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
    cublasLtHandle_t lt_ = nullptr;
    block_cache* cache_ = nullptr;
    void* workspace_ = nullptr;
    std::size_t workspace_bytes_ = 0;
    error_slot* slot_ = nullptr;
    std::mutex mutex_;
};

int device_count(std::string* why) {
    int n = 0;
    const cudaError_t s = cudaGetDeviceCount(&n);
    if (s != cudaSuccess) {
        cudaGetLastError();
        if (why) *why = "returned " + describe(s);
        return 0;
    }
    if (n == 0 && why) *why = "found 0 devices";
    return n;
}

device_state& default_state() {
    // Built once; a failure (no GPU) is thrown to every caller, not cached as a broken state.
    static std::mutex m;
    static device_state* state = nullptr;
    std::lock_guard lock(m);
    if (!state) state = new device_state();
    return *state;
}

device_info info(device_state& s) {
    device_info d;
    d.ordinal = s.ordinal();
    d.major = s.props().major;
    d.minor = s.props().minor;
    d.multiprocessors = s.props().multiProcessorCount;
    cudaDeviceGetAttribute(&d.clock_khz, cudaDevAttrClockRate, d.ordinal); // 0 if the driver will not say
    d.total_memory = s.props().totalGlobalMem;
    d.name = s.props().name;
    d.compiled_architectures = compiled_architectures();
    return d;
}

void* allocate(device_state& s, std::size_t bytes) { return s.cache().allocate(bytes); }
void deallocate(device_state& s, void* p) noexcept { s.cache().deallocate(p); }
std::size_t raw_allocations(device_state& s) { return s.cache().raw_allocations(); }
std::size_t reuses(device_state& s) { return s.cache().reuses(); }

void upload(device_state& s, void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    STARBUCKS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s.stream()));
    // Pageable source: the call returns once it is staged, but pinned memory would not be; wait
    // so the caller may free or reuse the host buffer in both cases.
    STARBUCKS_CUDA_CHECK(cudaStreamSynchronize(s.stream()));
}
void download(device_state& s, void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    STARBUCKS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s.stream()));
    STARBUCKS_CUDA_CHECK(cudaStreamSynchronize(s.stream()));
}
void copy_bytes(device_state& s, void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    STARBUCKS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s.stream()));
}
void synchronize(device_state& s) { STARBUCKS_CUDA_CHECK(cudaStreamSynchronize(s.stream())); }

/// Blocks for n elements at `threads` per block, capped (kernels loop over the grid).
inline unsigned grid_for(std::size_t n, unsigned threads = 256) {
    const std::size_t blocks = (n + threads - 1) / threads;
    return static_cast<unsigned>(blocks < 65535u * 16u ? (blocks ? blocks : 1) : 65535u * 16u);
}

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
