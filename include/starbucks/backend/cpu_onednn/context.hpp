// SPDX-License-Identifier: Apache-2.0
// cpu_onednn: the engine, stream and primitive cache a process shares.
#pragma once

#include <dnnl.hpp>

#include <mutex>
#include <string>
#include <unordered_map>

#include "../../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// @brief oneDNN state: one CPU engine and stream, and primitives cached by a key of every
/// shape, stride, flag and scalar that shapes them, so a training step creates none after its
/// first iteration.
class onednn_context {
public:
    onednn_context() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

    dnnl::engine& engine() noexcept { return engine_; }
    dnnl::stream& stream() noexcept { return stream_; }

    /// The cached primitive for `key`, made by `make()` on first use.
    template <class Make>
    dnnl::primitive& primitive(const std::string& key, Make&& make) {
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

private:
    dnnl::engine engine_;
    dnnl::stream stream_;
    std::mutex mutex_;
    std::unordered_map<std::string, dnnl::primitive> cache_;
    std::size_t created_ = 0;
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
