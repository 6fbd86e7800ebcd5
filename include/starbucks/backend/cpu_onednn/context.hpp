// SPDX-License-Identifier: Apache-2.0
// cpu_onednn: the engine, stream and primitive cache a process shares.
#pragma once

#include <dnnl.hpp>

#include <mutex>
#include <tuple>
#include <utility>
#include <string>
#include <unordered_map>

#include "../../core/error.hpp"
#include "../frozen_weights.hpp"
#include "../host_pool.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// @brief oneDNN state: one CPU engine and stream, and primitives cached by a key of every
/// shape, stride, flag and scalar that shapes them, so a training step creates none after its
/// first iteration; and, inside frozen_weights_scopes, weights already reordered into the
/// layout a matmul primitive chose for them.
class onednn_context {
public:
    onednn_context() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
        on_frozen_weights_end([this](std::uint64_t generation) { release_packed(generation); });
    }
    onednn_context(const onednn_context&) = delete;
    onednn_context& operator=(const onednn_context&) = delete;

    dnnl::engine& engine() noexcept { return engine_; }
    dnnl::stream& stream() noexcept { return stream_; }

    /// A primitive and the weights layout it was made for (a matmul given `any` chooses one).
    struct cached_primitive {
        dnnl::primitive primitive;
        dnnl::memory::desc weights;
    };

    /// The cached primitive for `key`, made by `make()` on first use.
    template <class Make>
    dnnl::primitive& primitive(const std::string& key, Make&& make) {
        return cached(key, [&] { return cached_primitive{make(), {}}; }).primitive;
    }
    /// The same, for a primitive whose weights layout is wanted too: `make()` returns both.
    template <class Make>
    cached_primitive& cached(const std::string& key, Make&& make) {
        std::lock_guard lock(mutex_);
        auto it = cache_.find(key);
        if (it == cache_.end()) {
            it = cache_.emplace(key, make()).first;
            ++created_;
        }
        return it->second;
    }
    /// Primitives created so far (a test checks that a repeated step adds none).
    std::size_t primitives_created() const noexcept { return created_; }

    /// The packed copy of a weight kept for frozen-weights `generation` under `key`: when there
    /// is none yet, a buffer of layout `md` from the host pool (reused from scope to scope, so
    /// no page is touched afresh) that `pack(memory)` fills. Each generation has entries of its
    /// own, so a thread's copy is only ever released by the end of its own scope.
    template <class Pack>
    const dnnl::memory& packed_weight(const std::string& key, std::uint64_t generation, const dnnl::memory::desc& md, Pack&& pack) {
        std::lock_guard lock(mutex_);
        const std::string full_key = key + ":generation:" + std::to_string(generation);
        auto it = packed_.find(full_key);
        if (it == packed_.end()) {
            const std::size_t bytes = md.get_size();
            it = packed_.emplace(std::piecewise_construct, std::forward_as_tuple(full_key), std::forward_as_tuple(generation, bytes)).first;
            it->second.memory = dnnl::memory(md, engine_, it->second.data);
            pack(it->second.memory);
            ++packed_made_;
        }
        return it->second.memory;
    }
    /// Weights packed for a frozen-weights scope so far, and how many are held now.
    std::size_t weights_packed() const noexcept { return packed_made_; }
    std::size_t weights_held() {
        std::lock_guard lock(mutex_);
        return packed_.size();
    }

private:
    /// A packed weight in a host-pool buffer, returned to the pool when the entry goes.
    struct packed_entry {
        packed_entry(std::uint64_t g, std::size_t n) : generation(g), bytes(n), data(host_pool::instance().allocate(n)) {}
        ~packed_entry() { host_pool::instance().deallocate(data, bytes); }
        packed_entry(const packed_entry&) = delete;
        packed_entry& operator=(const packed_entry&) = delete;
        std::uint64_t generation;
        std::size_t bytes;
        void* data;
        dnnl::memory memory;
    };
    void release_packed(std::uint64_t generation) {
        std::lock_guard lock(mutex_);
        std::erase_if(packed_, [&](const auto& e) { return e.second.generation == generation; });
    }

    dnnl::engine engine_;
    dnnl::stream stream_;
    std::mutex mutex_;
    std::unordered_map<std::string, cached_primitive> cache_;
    std::size_t created_ = 0;
    std::unordered_map<std::string, packed_entry> packed_;
    std::size_t packed_made_ = 0;
};

/// Runs a oneDNN call; its exceptions become starbucks errors naming the primitive.
template <class F>
decltype(auto) onednn_call(const char* primitive, F&& f) {
    try {
        return f();
    } catch (const dnnl::error& e) {
        if (e.status == dnnl_unimplemented)
            throw unsupported_error(std::string("starbucks::backend::cpu_onednn::") + primitive, "oneDNN has no implementation: " + std::string(e.what()));
        if (e.status == dnnl_out_of_memory)
            throw resource_error(std::string("starbucks::backend::cpu_onednn::") + primitive, "oneDNN is out of memory");
        throw internal_error(std::string("starbucks::backend::cpu_onednn::") + primitive,
                             "oneDNN status " + std::to_string(static_cast<int>(e.status)) + ": " + e.what());
    }
}

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
