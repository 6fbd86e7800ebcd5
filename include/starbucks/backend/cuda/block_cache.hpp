// SPDX-License-Identifier: Apache-2.0
// block_cache: the caching allocator behind backend::cuda, in plain C++ so it is tested on any
// machine with a fake raw allocator. After warm-up a training step reuses cached blocks and
// never reaches cudaMalloc (which synchronises the device) on its hot path.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "../../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

/// @brief Freed device blocks kept for reuse, best fit by size.
///
/// Stream-ordered by construction: every kernel of a cuda context runs on its one stream, so a
/// block freed by the host while earlier kernels still use it can be handed to later work on
/// that stream without a synchronisation: the stream orders the new use after the old ones.
/// Requests round up (to 512 bytes under 1 MiB, to 2 MiB above, the driver's granularity) and a
/// cached block serves a request when it is at most twice its size. When the raw allocator runs
/// out, every cached block goes back and the request is tried once more before it fails with a
/// resource_error saying what was asked, what is in use and what the device reports.
class block_cache {
public:
    /// Raw allocation: nullptr when the device is out of memory (any other failure throws).
    using raw_allocate = std::function<void*(std::size_t bytes)>;
    using raw_free = std::function<void(void* p)>;
    /// Extra words for an out-of-memory message (the device's free and total memory).
    using describe = std::function<std::string()>;

    static constexpr std::size_t small_granule = 512;
    static constexpr std::size_t large_granule = std::size_t{2} << 20;
    static constexpr std::size_t small_limit = std::size_t{1} << 20;

    block_cache(raw_allocate alloc, raw_free free, describe what = {})
        : alloc_(std::move(alloc)), free_(std::move(free)), describe_(std::move(what)) {}
    block_cache(const block_cache&) = delete;
    block_cache& operator=(const block_cache&) = delete;
    ~block_cache() { release(); }

    static std::size_t rounded(std::size_t bytes) noexcept {
        const std::size_t g = bytes < small_limit ? small_granule : large_granule;
        return (bytes + g - 1) / g * g;
    }

    /// A block of at least `bytes` (nullptr for 0 bytes).
    void* allocate(std::size_t bytes) {
        if (bytes == 0) return nullptr;
        const std::size_t want = rounded(bytes);
        std::lock_guard lock(mutex_);
        auto it = cached_.lower_bound(want);
        if (it != cached_.end() && it->first <= 2 * want) {
            void* p = it->second;
            live_.emplace(p, it->first);
            cached_bytes_ -= it->first;
            in_use_bytes_ += it->first;
            cached_.erase(it);
            ++reuses_;
            return p;
        }
        void* p = alloc_(want);
        if (!p) { // out of memory: give the cache back and try once more
            release_locked();
            p = alloc_(want);
        }
        if (!p) {
            std::string why = "out of device memory: cannot allocate " + std::to_string(bytes) + " bytes (" +
                              std::to_string(in_use_bytes_) + " bytes in use by tensors";
            if (describe_) why += "; " + describe_();
            throw resource_error("starbucks::backend::cuda::allocate", why + ")");
        }
        live_.emplace(p, want);
        in_use_bytes_ += want;
        ++raw_allocations_;
        return p;
    }

    /// Returns a block to the cache; a pointer this cache did not hand out is ignored.
    void deallocate(void* p) noexcept {
        if (!p) return;
        std::lock_guard lock(mutex_);
        auto it = live_.find(p);
        if (it == live_.end()) return;
        const std::size_t bytes = it->second;
        live_.erase(it);
        in_use_bytes_ -= bytes;
        try {
            cached_.emplace(bytes, p);
            cached_bytes_ += bytes;
        } catch (...) { // no memory to remember it: give it back instead
            free_(p);
        }
    }

    /// Gives every cached block back to the raw allocator.
    void release() noexcept {
        std::lock_guard lock(mutex_);
        release_locked();
    }

    std::size_t raw_allocations() const noexcept {
        std::lock_guard lock(mutex_);
        return raw_allocations_;
    }
    std::size_t reuses() const noexcept {
        std::lock_guard lock(mutex_);
        return reuses_;
    }
    std::size_t cached_bytes() const noexcept {
        std::lock_guard lock(mutex_);
        return cached_bytes_;
    }
    std::size_t in_use_bytes() const noexcept {
        std::lock_guard lock(mutex_);
        return in_use_bytes_;
    }

private:
    void release_locked() noexcept {
        for (auto& [bytes, p] : cached_) free_(p);
        cached_.clear();
        cached_bytes_ = 0;
    }

    raw_allocate alloc_;
    raw_free free_;
    describe describe_;
    mutable std::mutex mutex_;
    std::multimap<std::size_t, void*> cached_;
    std::unordered_map<void*, std::size_t> live_;
    std::size_t cached_bytes_ = 0, in_use_bytes_ = 0, raw_allocations_ = 0, reuses_ = 0;
};

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
