// SPDX-License-Identifier: Apache-2.0
// no_grad: a scope in which ops compute values but record nothing on any tape.
#pragma once

#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

namespace detail {
inline bool& grad_enabled_flag() noexcept {
    thread_local bool enabled = true;
    return enabled;
}
} // namespace detail

/// True unless a `no_grad` scope is open on this thread.
inline bool grad_enabled() noexcept { return detail::grad_enabled_flag(); }

/// @brief While alive, ops on this thread record nothing (evaluation, numeric gradients,
/// optimizer updates). Scopes nest; the previous mode is restored on exit.
class no_grad {
public:
    no_grad() noexcept : previous_(detail::grad_enabled_flag()) { detail::grad_enabled_flag() = false; }
    ~no_grad() { detail::grad_enabled_flag() = previous_; }
    no_grad(const no_grad&) = delete;
    no_grad& operator=(const no_grad&) = delete;

private:
    bool previous_;
};

} // namespace autograd
STARBUCKS_NAMESPACE_END
