// SPDX-License-Identifier: Apache-2.0
// Private to ops/: a per-thread setting (matmul_precision, attention_path) and the scope that sets it.
#pragma once

#include "../../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace detail {

/// @brief One per-thread value of type V, `Default` until a scope sets it. Each V names its own
/// setting (the settings are enums of their own).
template <class V, V Default>
class thread_setting {
public:
    static V current() noexcept { return slot(); }

    /// Sets the value of this thread for its lifetime, then restores the previous one (scopes nest).
    class scope {
    public:
        explicit scope(V v) noexcept : previous_(slot()) { slot() = v; }
        ~scope() { slot() = previous_; }
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;

    private:
        V previous_;
    };

private:
    static V& slot() noexcept {
        thread_local V v = Default;
        return v;
    }
};

} // namespace detail
STARBUCKS_NAMESPACE_END
