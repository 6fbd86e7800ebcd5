// SPDX-License-Identifier: Apache-2.0
// frozen_weights_scope: a promise that layer weights do not change, so GEMMs may keep them packed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend {

namespace detail {
/// Process-wide: the last generation handed out, and what backends do when one ends.
struct frozen_weights_registry {
    std::atomic<std::uint64_t> last{0};
    std::mutex mutex;
    std::vector<std::function<void(std::uint64_t)>> on_end;
};
inline frozen_weights_registry& frozen_weights() {
    static frozen_weights_registry r;
    return r;
}
inline std::uint64_t& frozen_generation_slot() noexcept {
    thread_local std::uint64_t g = 0;
    return g;
}
/// A backend's cache registers here to drop its packed copies when a generation ends.
inline void on_frozen_weights_end(std::function<void(std::uint64_t)> release) {
    auto& r = frozen_weights();
    std::lock_guard lock(r.mutex);
    r.on_end.push_back(std::move(release));
}
} // namespace detail

/// The frozen-weights generation of this thread: 0 outside a frozen_weights_scope.
inline std::uint64_t frozen_weights_generation() noexcept { return detail::frozen_generation_slot(); }

/// @brief A promise, for the scope's lifetime on this thread, that no layer weight changes or is
/// freed (inference: embedding a corpus, an evaluation grid).
///
/// Backends may then keep each weight of a linear layer in their GEMM kernel's packed layout
/// and reuse it across calls (cpu_onednn does: oneDNN's blocked weights run its matmul ≈ 3–10 %
/// faster than plain ones). The packed copies are released when the outermost scope ends.
/// Never hold one across an optimizer step: the packed copies would be stale.
class frozen_weights_scope {
public:
    frozen_weights_scope() : previous_(detail::frozen_generation_slot()) {
        if (previous_ == 0) detail::frozen_generation_slot() = ++detail::frozen_weights().last;
    }
    ~frozen_weights_scope() {
        if (previous_ != 0) return;
        const std::uint64_t ended = detail::frozen_generation_slot();
        detail::frozen_generation_slot() = 0;
        auto& r = detail::frozen_weights();
        std::lock_guard lock(r.mutex);
        for (auto& release : r.on_end) release(ended);
    }
    frozen_weights_scope(const frozen_weights_scope&) = delete;
    frozen_weights_scope& operator=(const frozen_weights_scope&) = delete;

private:
    std::uint64_t previous_;
};

} // namespace backend
STARBUCKS_NAMESPACE_END
