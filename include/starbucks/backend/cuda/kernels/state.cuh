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
#include "../../reference/detail/rows.hpp"
#include "../block_cache.hpp"
#include "../launchers.hpp"

/// Queues a kernel on a stream: `STARBUCKS_CUDA_LAUNCH(grid, block, stream, kernel)(args...)`.
/// A macro rather than `<<<...>>>` in place, so the host-side model of the execution model
/// that runs these kernels in tests (tests/cuda/emulator) can define it first.
#ifndef STARBUCKS_CUDA_LAUNCH
#define STARBUCKS_CUDA_LAUNCH(grid, block, stream, ...) __VA_ARGS__<<<(grid), (block), 0, (stream)>>>
#endif

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

/// The checks a kernel can fail on the device, each with the reference backend's message.
enum class index_check : int { none = 0, gather_index = 1, cross_entropy_label = 2 };

/// @brief Where kernels report a bad index without stopping the stream.
///
/// An indexing kernel writes the smallest offending position to `pending`; the one-thread
/// capture kernel queued after it moves that into the report (position, the bad value, the
/// limit, which check) unless an earlier op already reported. The host reads the report at its
/// next synchronisation (a download, synchronize) and throws there: an index check costs no
/// synchronisation of its own, so a training step is not drained once per embedding lookup and
/// loss term. The work queued after a bad index runs on (it skips the bad rows) and is discarded
/// with the exception, before anything reads it.
struct error_slot {
    unsigned long long pending = ULLONG_MAX;
    unsigned long long position = ULLONG_MAX;
    long long value = 0;
    unsigned long long limit = 0;
    int check = 0;
};

__global__ void capture_bad_index_kernel(error_slot* slot, const std::int64_t* indices, int check, unsigned long long limit) {
    if (slot->pending == ULLONG_MAX) return;
    if (slot->check == 0) {
        slot->check = check;
        slot->position = slot->pending;
        slot->value = indices[slot->pending];
        slot->limit = limit;
    }
    slot->pending = ULLONG_MAX;
}

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
        STARBUCKS_CUDA_CHECK(cudaMallocHost(&slot_mirror_, sizeof(error_slot)));
        *slot_mirror_ = error_slot{};
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
        STARBUCKS_CUDA_CHECK(cudaStreamSynchronize(stream_)); // `clear` is a local: let the copy read it first
    }
    /// Queues the capture of what the kernel just queued reported against `indices` (see error_slot).
    void capture(const std::int64_t* indices, index_check kind, std::size_t limit) {
        STARBUCKS_CUDA_LAUNCH(1, 1, stream_, capture_bad_index_kernel)(slot_, indices, static_cast<int>(kind), limit);
        check_launch("capture_bad_index");
    }
    /// Queues the copy of the report to its pinned host mirror; call before a synchronisation.
    void queue_report_read() {
        STARBUCKS_CUDA_CHECK(cudaMemcpyAsync(slot_mirror_, slot_, sizeof(error_slot), cudaMemcpyDeviceToHost, stream_));
    }
    /// After a synchronisation that followed queue_report_read(): throws the reference
    /// backend's error for a reported bad index (once: the report is cleared).
    void raise_reported() {
        const error_slot got = *slot_mirror_;
        if (got.check == static_cast<int>(index_check::none)) return;
        *slot_mirror_ = error_slot{};
        reset_slot();
        const std::string at = std::to_string(got.position);
        if (got.check == static_cast<int>(index_check::gather_index))
            detail::check_index("starbucks::gather_rows", "index", got.value, "at position " + at, got.limit);
        else
            detail::check_index("starbucks::cross_entropy", "label", got.value, "of row " + at, got.limit);
        throw internal_error("starbucks::backend::cuda", "a kernel reported index " + std::to_string(got.value) + " at " + at +
                                                             " out of range, which the host check accepts");
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
    error_slot* slot_mirror_ = nullptr; // pinned: the report's copy lands without a second wait
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

/// The process's one state (null until first use) and the lock that guards its creation.
inline std::mutex& state_mutex() {
    static std::mutex m;
    return m;
}
inline device_state*& state_slot() {
    static device_state* state = nullptr;
    return state;
}

device_state& default_state() {
    // Built once; a failure (no GPU) is thrown to every caller, not cached as a broken state.
    std::lock_guard lock(state_mutex());
    if (!state_slot()) state_slot() = new device_state();
    return *state_slot();
}

void use_device(int ordinal) {
    std::lock_guard lock(state_mutex());
    if (const device_state* s = state_slot()) {
        if (s->ordinal() == ordinal) return;
        throw usage_error("starbucks::backend::cuda", "use_device(" + std::to_string(ordinal) + ") after the first use, which chose device " +
                                                          std::to_string(s->ordinal()));
    }
    std::string why;
    const int n = device_count(&why);
    if (n == 0) throw resource_error("starbucks::backend::cuda", "no CUDA device: cudaGetDeviceCount " + why);
    if (ordinal < 0 || ordinal >= n)
        throw resource_error("starbucks::backend::cuda", "device " + std::to_string(ordinal) + " requested; the runtime sees " + std::to_string(n));
    STARBUCKS_CUDA_CHECK(cudaSetDevice(ordinal));
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
    cudaPointerAttributes where{};
    const bool pageable = cudaPointerGetAttributes(&where, src) == cudaSuccess && where.type == cudaMemoryTypeUnregistered;
    cudaGetLastError(); // an unknown pointer may leave an error behind on older runtimes
    STARBUCKS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s.stream()));
    // From pageable memory the call returns once the bytes are staged, so the caller may reuse
    // its buffer without a wait (and the stream is not drained); from pinned memory the DMA reads
    // the buffer later, so wait for it.
    if (!pageable) STARBUCKS_CUDA_CHECK(cudaStreamSynchronize(s.stream()));
}
void download(device_state& s, void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    s.queue_report_read();
    STARBUCKS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s.stream()));
    STARBUCKS_CUDA_CHECK(cudaStreamSynchronize(s.stream()));
    s.raise_reported(); // what was downloaded may have been computed past a bad index
}
void copy_bytes(device_state& s, void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    STARBUCKS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s.stream()));
}
void synchronize(device_state& s) {
    s.queue_report_read();
    STARBUCKS_CUDA_CHECK(cudaStreamSynchronize(s.stream()));
    s.raise_reported();
}

/// Blocks for n elements at `threads` per block, capped (kernels loop over the grid).
inline unsigned grid_for(std::size_t n, unsigned threads = 256) {
    const std::size_t blocks = (n + threads - 1) / threads;
    return static_cast<unsigned>(blocks < 65535u * 16u ? (blocks ? blocks : 1) : 65535u * 16u);
}

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
