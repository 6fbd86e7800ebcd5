// SPDX-License-Identifier: Apache-2.0
// backend/cuda/block_cache.hpp, the CUDA backend's caching allocator, on a fake raw allocator:
// plain C++, so it runs on every machine.
#include "testing.hpp"

#include <starbucks/backend/cuda/block_cache.hpp>

#include <cstdlib>
#include <map>
#include <set>

namespace { namespace test_block_cache {

using starbucks::backend::cuda_detail::block_cache;

/// A raw allocator over malloc with a byte budget, counting its calls.
struct fake_device {
    std::size_t budget, used = 0, calls = 0, frees = 0;
    std::map<void*, std::size_t> live;
    explicit fake_device(std::size_t bytes) : budget(bytes) {}
    block_cache cache() {
        return block_cache(
            [this](std::size_t n) -> void* {
                ++calls;
                if (used + n > budget) return nullptr;
                void* p = std::malloc(n);
                used += n;
                live.emplace(p, n);
                return p;
            },
            [this](void* p) {
                ++frees;
                used -= live.at(p);
                live.erase(p);
                std::free(p);
            },
            [] { return std::string("fake device: 0 bytes free"); });
    }
};

TEST_CASE("block_cache: sizes round to 512 bytes under 1 MiB and to 2 MiB above") {
    CHECK(block_cache::rounded(1) == 512);
    CHECK(block_cache::rounded(512) == 512);
    CHECK(block_cache::rounded(513) == 1024);
    CHECK(block_cache::rounded((1u << 20) - 1) == (1u << 20));
    CHECK(block_cache::rounded((1u << 20) + 1) == (2u << 20));
    CHECK(block_cache::rounded((5u << 20) + 3) == (6u << 20));
}

TEST_CASE("block_cache: a repeated sequence of allocations reaches the raw allocator only the first time") {
    fake_device dev(std::size_t{1} << 30);
    auto cache = dev.cache();
    const std::size_t sizes[] = {4096, 100000, 3u << 20, 700, 4096};
    auto step = [&] {
        std::vector<void*> held;
        for (std::size_t s : sizes) held.push_back(cache.allocate(s));
        std::set<void*> distinct(held.begin(), held.end());
        CHECK(distinct.size() == held.size()); // live blocks never alias
        for (void* p : held) cache.deallocate(p);
    };
    step();
    const std::size_t first = dev.calls;
    CHECK(first == 5);
    for (int i = 0; i < 10; ++i) step();
    CHECK(dev.calls == first);
    CHECK(cache.raw_allocations() == first);
    CHECK(cache.reuses() == 50);
    CHECK(cache.in_use_bytes() == 0);
    CHECK(cache.cached_bytes() > 0);
    CHECK(cache.allocate(0) == nullptr);
}

TEST_CASE("block_cache: a cached block serves a request at most half its size, not a smaller one") {
    fake_device dev(std::size_t{1} << 30);
    auto cache = dev.cache();
    void* big = cache.allocate(8u << 20);
    cache.deallocate(big);
    void* small = cache.allocate(1u << 20); // 8 MiB is more than twice 1 MiB: a new block
    CHECK(small != big);
    void* half = cache.allocate(4u << 20); // exactly half: reuses the 8 MiB block
    CHECK(half == big);
    cache.deallocate(small);
    cache.deallocate(half);
}

TEST_CASE("block_cache: out of memory gives the cache back, retries once, then names what was asked") {
    fake_device dev(std::size_t{6} << 20);
    {
        auto cache = dev.cache();
        void* a = cache.allocate(4u << 20);
        cache.deallocate(a); // 4 MiB cached and still held from the device
        CHECK(dev.used == (4u << 20));
        // 5 MiB (6 MiB rounded) does not fit beside it: the cache goes back and the retry succeeds.
        void* c = cache.allocate(5u << 20);
        CHECK(c != nullptr);
        CHECK(dev.frees == 1);
        CHECK(dev.used == (6u << 20));
        // Nothing fits now: the error names the request, the bytes in use and the device's words.
        const std::string msg = starbucks::testing::error_message([&] { (void)cache.allocate(64u << 20); });
        CHECK(msg.find("starbucks::backend::cuda::allocate") != std::string::npos);
        CHECK(msg.find("cannot allocate 67108864 bytes") != std::string::npos);
        CHECK(msg.find("6291456 bytes in use") != std::string::npos);
        CHECK(msg.find("fake device: 0 bytes free") != std::string::npos);
        CHECK_THROWS_AS((void)cache.allocate(64u << 20), starbucks::resource_error);
        cache.deallocate(c);
        cache.deallocate(&dev); // a pointer the cache never handed out is ignored
    }
    CHECK(dev.live.empty()); // the destructor gave every cached block back
}

}} // namespace ::test_block_cache
