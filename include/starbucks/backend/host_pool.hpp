// SPDX-License-Identifier: Apache-2.0
// host_pool: recycles large host allocations by exact size, so a training step that repeats
// its shapes stops asking the OS for memory (and stops paying its page faults) after warm-up.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend {

/// @brief A process-wide cache of freed host blocks, keyed by their exact byte size.
///
/// Blocks under `min_pooled_bytes` go straight to the allocator (malloc's own bins serve them
/// well). Cached bytes are capped (`STARBUCKS_POOL_LIMIT_MB`, default 4096: a MiniLM step at
/// 128 tokens recycles its shapes within it — 2048 left it re-faulting pages every step, 10 %
/// slower at the same peak RSS; 8192 let two MiniLM trainings reach 15 GB and the OOM killer on
/// a 24 GB machine, before training freed gradients as it went); a freed block that
/// would pass the cap first sends cached blocks back to the OS to make room. `STARBUCKS_NO_POOL=1` turns the pool off, so sanitizers see every
/// allocation and free (a pooled block would hide a use after free).
class host_pool {
public:
    static constexpr std::size_t min_pooled_bytes = std::size_t{1} << 16;
    static constexpr std::size_t alignment = 64;

    static host_pool& instance() {
        static host_pool pool;
        return pool;
    }

    void* allocate(std::size_t bytes) {
        if (bytes == 0) return nullptr;
        if (enabled_ && bytes >= min_pooled_bytes) {
            std::lock_guard lock(mutex_);
            auto it = free_.find(bytes);
            if (it != free_.end() && !it->second.empty()) {
                void* p = it->second.back();
                it->second.pop_back();
                cached_bytes_ -= bytes;
                ++reuses_;
                return p;
            }
        }
        void* p = ::operator new(bytes, std::align_val_t{alignment}, std::nothrow);
        if (!p) throw resource_error("starbucks::backend::host_pool::allocate", "cannot allocate " + std::to_string(bytes) + " bytes");
        if (bytes >= min_pooled_bytes) {
            std::lock_guard lock(mutex_);
            ++os_allocations_;
        }
        return p;
    }

    void deallocate(void* p, std::size_t bytes) noexcept {
        if (!p) return;
        if (enabled_ && bytes >= min_pooled_bytes && bytes <= limit_bytes_) {
            std::lock_guard lock(mutex_);
            // Over the cap, blocks of other sizes go back to the OS first: the sizes in use now
            // matter more than those of an earlier phase (a different model, batch or benchmark).
            for (auto it = free_.begin(); cached_bytes_ + bytes > limit_bytes_ && it != free_.end(); ++it) {
                while (!it->second.empty() && cached_bytes_ + bytes > limit_bytes_) {
                    ::operator delete(it->second.back(), std::align_val_t{alignment});
                    it->second.pop_back();
                    cached_bytes_ -= it->first;
                }
            }
            if (cached_bytes_ + bytes <= limit_bytes_) {
                try {
                    free_[bytes].push_back(p);
                    cached_bytes_ += bytes;
                    return;
                } catch (...) { // no memory to remember the block: give it back instead
                }
            }
        }
        ::operator delete(p, std::align_val_t{alignment});
    }

    /// Returns every cached block to the OS.
    void release() noexcept {
        std::lock_guard lock(mutex_);
        for (auto& [bytes, blocks] : free_)
            for (void* p : blocks) ::operator delete(p, std::align_val_t{alignment});
        free_.clear();
        cached_bytes_ = 0;
    }

    bool enabled() const noexcept { return enabled_; }
    /// The cap on cached bytes (also set by STARBUCKS_POOL_LIMIT_MB at start-up).
    std::size_t limit_bytes() const noexcept {
        std::lock_guard lock(mutex_);
        return limit_bytes_;
    }
    void set_limit_bytes(std::size_t bytes) noexcept {
        std::lock_guard lock(mutex_);
        limit_bytes_ = bytes;
    }
    /// Large (poolable) allocations that reached the OS allocator: a warmed-up step adds none.
    std::size_t os_allocations() const noexcept {
        std::lock_guard lock(mutex_);
        return os_allocations_;
    }
    std::size_t reuses() const noexcept {
        std::lock_guard lock(mutex_);
        return reuses_;
    }
    std::size_t cached_bytes() const noexcept {
        std::lock_guard lock(mutex_);
        return cached_bytes_;
    }

    host_pool(const host_pool&) = delete;
    host_pool& operator=(const host_pool&) = delete;
    ~host_pool() { release(); }

private:
    host_pool() {
        const char* off = std::getenv("STARBUCKS_NO_POOL");
        enabled_ = !(off && off[0] == '1');
        if (const char* mb = std::getenv("STARBUCKS_POOL_LIMIT_MB")) {
            char* end = nullptr;
            const unsigned long long v = std::strtoull(mb, &end, 10);
            if (end != mb && *end == '\0') limit_bytes_ = static_cast<std::size_t>(v) << 20;
        }
    }

    mutable std::mutex mutex_;
    std::unordered_map<std::size_t, std::vector<void*>> free_;
    std::size_t cached_bytes_ = 0, os_allocations_ = 0, reuses_ = 0;
    std::size_t limit_bytes_ = std::size_t{4096} << 20;
    bool enabled_ = true;
};

} // namespace backend
STARBUCKS_NAMESPACE_END
