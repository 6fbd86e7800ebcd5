// SPDX-License-Identifier: Apache-2.0
// A host-side model of the CUDA execution model, for running backend::cuda's kernels in tests
// on machines without a GPU: every thread of a block is a fiber, a block's fibers run
// until each finishes or waits at __syncthreads() or a warp shuffle, and a barrier opens only
// when every live thread it concerns has reached it. Blocks run one after another, so
// `__shared__` is a per-OS-thread static. Divergent barriers and shuffles across exited lanes,
// which are undefined on a GPU, stop the launch with an error naming the kernel.
//
// Device memory is inaccessible outside emulated device work (kernels, copies, cuBLAS calls),
// so host code that dereferences a device pointer crashes here as it would on a GPU, and each
// allocation ends at a guard page, so a kernel running past it crashes too.
//
// This models semantics, not timing: it says nothing about speed, occupancy or memory
// coalescing, and a race between threads that a GPU would expose can pass here.
#pragma once

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

struct uint3 {
    unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// The built-in variables, per OS thread; the scheduler sets them before resuming a fiber.
inline thread_local uint3 threadIdx, blockIdx;
inline thread_local dim3 blockDim, gridDim;

namespace starbucks_cuda_emulator {

/// An error of the emulated program that a GPU would report as a launch or kernel failure
/// (or hang on): a barrier some live threads never reach, a shuffle with exited lanes.
struct kernel_fault : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---- device memory -----------------------------------------------------------------------

/// @brief Every device allocation: mapped PROT_NONE, and ending at a guard page (the size
/// rounded to 256 bytes, cudaMalloc's alignment).
///
/// Inside a scope (a kernel, a copy, a cuBLAS call) the first touch of an allocation faults,
/// and the SIGSEGV handler opens that allocation's pages until the outermost scope ends. So
/// host code that dereferences device memory, and device work that runs past an allocation
/// (into its guard page or another's slack), still faults and ends the process, while each
/// launch costs a fault and two mprotect calls per allocation it touches, not per allocation
/// that exists. The handler reads the allocation map without its lock: allocating on one
/// thread while another runs device work is outside what the emulator supports.
class device_memory {
public:
    static device_memory& get() {
        static device_memory m;
        return m;
    }
    /// Emulated capacity: 16 GiB unless STARBUCKS_CUDA_EMULATOR_BYTES says otherwise.
    std::size_t capacity() const { return capacity_; }
    std::size_t used() {
        std::lock_guard lock(mutex_);
        return used_;
    }

    void* allocate(std::size_t bytes) {
        std::lock_guard lock(mutex_);
        if (bytes == 0) bytes = 1;
        if (bytes > capacity_ - used_) return nullptr;
        const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        const std::size_t rounded = (bytes + 255) / 256 * 256;
        const std::size_t body = (rounded + page - 1) / page * page;
        void* base = mmap(nullptr, body + page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED) return nullptr;
        char* p = static_cast<char*>(base) + (body - rounded);
        regions_[p] = region{base, body, bytes, rounded};
        used_ += bytes;
        return p;
    }
    bool release(void* p) {
        std::lock_guard lock(mutex_);
        auto it = regions_.find(static_cast<char*>(p));
        if (it == regions_.end()) return false;
        used_ -= it->second.bytes;
        munmap(it->second.base, it->second.body + static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
        regions_.erase(it);
        return true;
    }
    /// True when [p, p + bytes) lies inside one allocation.
    bool contains(const void* p, std::size_t bytes) {
        std::lock_guard lock(mutex_);
        const region* r = find(static_cast<const char*>(p));
        return r && static_cast<const char*>(p) + bytes <= r->start() + r->bytes;
    }

    /// Device work on this thread: allocations it touches open until the outermost scope ends.
    class scope {
    public:
        scope() {
            if (depth_++ == 0) install_handler();
        }
        ~scope() {
            if (--depth_ == 0) {
                for (std::size_t i = 0; i < opened_count_; ++i) mprotect(opened_[i].base, opened_[i].body, PROT_NONE);
                opened_count_ = 0;
            }
        }
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;
    };

private:
    struct region {
        void* base;
        std::size_t body, bytes, rounded;
        const char* start() const { return static_cast<const char*>(base) + (body - rounded); }
    };
    struct opened {
        void* base;
        std::size_t body;
    };
    static constexpr std::size_t max_opened = 1024;

    device_memory() {
        capacity_ = std::size_t{16} << 30;
        if (const char* env = std::getenv("STARBUCKS_CUDA_EMULATOR_BYTES")) capacity_ = std::strtoull(env, nullptr, 10);
    }

    /// The allocation whose 256-byte-rounded extent holds `a`, or null.
    const region* find(const char* a) const {
        auto it = regions_.upper_bound(const_cast<char*>(a));
        if (it == regions_.begin()) return nullptr;
        --it;
        return a >= it->first && a < it->first + it->second.rounded ? &it->second : nullptr;
    }

    /// Ours on top of whatever handles SIGSEGV (a test framework may have replaced it since).
    static void install_handler() {
        struct sigaction current {};
        sigaction(SIGSEGV, nullptr, &current);
        if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == &on_fault) return;
        previous_ = current;
        struct sigaction mine {};
        mine.sa_sigaction = &on_fault;
        mine.sa_flags = SA_SIGINFO;
        sigemptyset(&mine.sa_mask);
        sigaction(SIGSEGV, &mine, nullptr);
    }

    static void on_fault(int, siginfo_t* info, void*) {
        if (depth_ > 0 && opened_count_ < max_opened) {
            if (const region* r = get().find(static_cast<const char*>(info->si_addr))) {
                mprotect(r->base, r->body, PROT_READ | PROT_WRITE);
                opened_[opened_count_++] = opened{r->base, r->body};
                return; // the access runs again, now allowed
            }
        }
        // Not device work on an allocation: the previous handler (or the default action) gets
        // the fault when the access runs again.
        sigaction(SIGSEGV, &previous_, nullptr);
    }

    std::mutex mutex_;
    std::map<char*, region> regions_;
    std::size_t capacity_ = 0, used_ = 0;
    static inline thread_local int depth_ = 0;
    static inline thread_local opened opened_[max_opened] = {};
    static inline thread_local std::size_t opened_count_ = 0;
    static inline struct sigaction previous_ {};
};

// ---- fiber contexts --------------------------------------------------------------------------

#if defined(__x86_64__)
/// A stack switch of a few instructions (ucontext's swapcontext makes a signal-mask system call
/// on every switch, and a block switches once per thread and barrier). The asm statement
/// saves the resume address and rbp on the current stack and clobbers every other register,
/// so the compiler keeps nothing live across it that the other side could change.
struct fiber_context {
    void* sp = nullptr;
};
inline void switch_context(fiber_context& from, const fiber_context& to) {
    void** save = &from.sp;
    void* load = to.sp;
    asm volatile("subq $128, %%rsp\n\t" // step over the red zone
                 "leaq 1f(%%rip), %%rax\n\t"
                 "pushq %%rbp\n\t"
                 "pushq %%rax\n\t"
                 "movq %%rsp, (%%rdi)\n\t"
                 "movq %%rsi, %%rsp\n\t"
                 "popq %%rax\n\t"
                 "popq %%rbp\n\t"
                 "jmpq *%%rax\n"
                 "1:\n\t"
                 "addq $128, %%rsp\n\t"
                 : "+D"(save), "+S"(load)
                 :
                 : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "xmm0", "xmm1",
                   "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
                   "xmm14", "xmm15", "memory", "cc");
}
/// A context that starts `entry` (which never returns) on the given stack.
inline void make_context(fiber_context& c, char* stack, std::size_t bytes, void (*entry)()) {
    auto top = reinterpret_cast<std::uintptr_t>(stack + bytes) & ~std::uintptr_t{15};
    auto* slots = reinterpret_cast<void**>(top - 8); // entry sees rsp % 16 == 8, as after a call
    slots[-1] = nullptr;                             // rbp
    slots[-2] = reinterpret_cast<void*>(entry);      // resume address
    c.sp = slots - 2;
}
#else
struct fiber_context {
    ucontext_t uc{};
};
inline void switch_context(fiber_context& from, const fiber_context& to) { swapcontext(&from.uc, &to.uc); }
inline void make_context(fiber_context& c, char* stack, std::size_t bytes, void (*entry)()) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack;
    c.uc.uc_stack.ss_size = bytes;
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, entry, 0);
}
#endif

// ---- threads of a block as fibers ----------------------------------------------------------

class block_scheduler {
public:
    static block_scheduler& current() {
        static thread_local block_scheduler s;
        return s;
    }

    /// Runs one block of `body` (blockIdx, blockDim, gridDim already set).
    void run_block(const std::function<void()>& body, const char* kernel) {
        const unsigned n = blockDim.x * blockDim.y * blockDim.z;
        if (fibers_.size() < n) {
            const std::size_t old = fibers_.size();
            fibers_.resize(n);
            for (std::size_t i = old; i < n; ++i) fibers_[i].stack.reset(new char[stack_bytes]);
        }
        body_ = &body;
        for (unsigned i = 0; i < n; ++i) {
            fiber& f = fibers_[i];
            f.tid = uint3{i % blockDim.x, (i / blockDim.x) % blockDim.y, i / (blockDim.x * blockDim.y)};
            f.st = state::ready;
            make_context(f.ctx, f.stack.get(), stack_bytes, &block_scheduler::entry);
        }
        for (;;) {
            bool ran = false;
            for (unsigned i = 0; i < n; ++i) {
                fiber& f = fibers_[i];
                if (f.st != state::ready) continue;
                running_ = &f;
                threadIdx = f.tid;
                switch_context(scheduler_, f.ctx);
                ran = true;
            }
            running_ = nullptr;
            unsigned at_barrier = 0, alive = 0;
            for (unsigned i = 0; i < n; ++i) {
                if (fibers_[i].st != state::done) ++alive;
                if (fibers_[i].st == state::at_syncthreads) ++at_barrier;
            }
            if (alive == 0) break;
            bool released = false;
            // __syncthreads(): threads that have exited count as arrived, as on current GPUs.
            if (at_barrier == alive) {
                for (unsigned i = 0; i < n; ++i)
                    if (fibers_[i].st == state::at_syncthreads) fibers_[i].st = state::ready;
                released = true;
            }
            released = exchange_warps(n, kernel) || released;
            if (!ran && !released)
                throw kernel_fault(std::string("kernel ") + kernel + ": block (" + std::to_string(blockIdx.x) + "," +
                                   std::to_string(blockIdx.y) + "," + std::to_string(blockIdx.z) + ") deadlocks: " +
                                   std::to_string(at_barrier) + " of " + std::to_string(alive) +
                                   " live threads wait at __syncthreads(), the rest at a warp shuffle");
        }
        if (failure_) {
            auto e = failure_;
            failure_ = nullptr;
            std::rethrow_exception(e);
        }
    }

    void syncthreads() { wait(state::at_syncthreads); }

    /// __shfl_xor_sync with a full mask: every lane of the warp offers `bits` and gets its
    /// partner's, once all 32 (or all the block has) have arrived.
    std::uint64_t shuffle_xor(std::uint64_t bits, int lane_mask) {
        fiber& f = *running_;
        f.send = bits;
        f.lane_mask = lane_mask;
        wait(state::at_shuffle);
        return running_->receive;
    }

private:
    static constexpr std::size_t stack_bytes = 64 * 1024;
    enum class state { ready, at_syncthreads, at_shuffle, done };
    struct fiber {
        fiber_context ctx;
        std::unique_ptr<char[]> stack;
        uint3 tid{};
        state st = state::done;
        std::uint64_t send = 0, receive = 0;
        int lane_mask = 0;
    };

    [[noreturn]] static void entry() {
        block_scheduler& s = current();
        try {
            (*s.body_)();
        } catch (...) {
            if (!s.failure_) s.failure_ = std::current_exception();
        }
        s.running_->st = state::done;
        switch_context(s.running_->ctx, s.scheduler_); // never resumed
        std::abort();
    }

    void wait(state why) {
        fiber& f = *running_;
        f.st = why;
        switch_context(f.ctx, scheduler_);
    }

    /// Opens every warp whose live lanes all wait at a shuffle; a warp with some lanes waiting
    /// and others exited is a fault (their values do not exist).
    bool exchange_warps(unsigned n, const char* kernel) {
        bool released = false;
        for (unsigned w = 0; w * 32 < n; ++w) {
            const unsigned lo = w * 32, hi = lo + 32 < n ? lo + 32 : n;
            unsigned waiting = 0, exited = 0;
            for (unsigned i = lo; i < hi; ++i) {
                waiting += fibers_[i].st == state::at_shuffle;
                exited += fibers_[i].st == state::done;
            }
            if (waiting == 0) continue;
            if (exited > 0)
                throw kernel_fault(std::string("kernel ") + kernel + ": a full-mask warp shuffle in warp " +
                                   std::to_string(w) + " while " + std::to_string(exited) + " of its lanes have exited");
            if (waiting != hi - lo) continue;
            for (unsigned i = lo; i < hi; ++i) {
                const unsigned partner = lo + (((i - lo) ^ static_cast<unsigned>(fibers_[i].lane_mask)) & 31u);
                if (fibers_[i].lane_mask != fibers_[lo].lane_mask)
                    throw kernel_fault(std::string("kernel ") + kernel + ": lanes of warp " + std::to_string(w) +
                                       " shuffle with different lane masks");
                fibers_[i].receive = partner < hi ? fibers_[partner].send : fibers_[i].send;
            }
            for (unsigned i = lo; i < hi; ++i) fibers_[i].st = state::ready;
            released = true;
        }
        return released;
    }

    std::vector<fiber> fibers_;
    fiber_context scheduler_;
    fiber* running_ = nullptr;
    const std::function<void()>* body_ = nullptr;
    std::exception_ptr failure_;
};

// ---- launches ------------------------------------------------------------------------------

/// The error the next cudaGetLastError() returns (a launch with a bad configuration, a fault).
inline thread_local int last_launch_error = 0;
inline thread_local std::string last_fault;

template <class Kernel>
struct launch {
    dim3 grid, block;
    Kernel kernel;
    const char* name;

    template <class... Args>
    void operator()(Args... args) const {
        const unsigned long long threads = 1ull * block.x * block.y * block.z;
        if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
            grid.y > 65535 || grid.z > 65535) {
            last_launch_error = 9; // cudaErrorInvalidConfiguration
            return;
        }
        device_memory::scope open;
        const std::function<void()> body = [&] { kernel(args...); };
        gridDim = grid;
        blockDim = block;
        try {
            for (unsigned z = 0; z < grid.z; ++z)
                for (unsigned y = 0; y < grid.y; ++y)
                    for (unsigned x = 0; x < grid.x; ++x) {
                        blockIdx = uint3{x, y, z};
                        block_scheduler::current().run_block(body, name);
                    }
        } catch (const kernel_fault& e) {
            last_launch_error = 719; // cudaErrorLaunchFailure
            last_fault = e.what();
        }
    }
};

/// The stream is accepted and ignored: work runs when it is queued, which is stream order.
template <class Stream, class Kernel>
launch<Kernel> make_launch(dim3 grid, dim3 block, Stream, const char* name, Kernel k) {
    return launch<Kernel>{grid, block, k, name};
}

} // namespace starbucks_cuda_emulator
