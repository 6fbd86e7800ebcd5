// SPDX-License-Identifier: Apache-2.0
// autograd::gradient_listener: hears a backward pass finish the gradients of chosen leaves, so
// work on them (summing them over ranks) starts while the rest of the pass still runs.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "../config.hpp"
#include "var_state.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// @brief What a tape tells, during backward, about a fixed list of leaves (the parameters).
///
/// Attach it with tape::listen before the forward pass: the tape learns while recording which
/// rules can add to which leaf, and a leaf is final once the earliest of them has run. Every
/// backward pass of the tape while attached calls begin once, then ready once per leaf (leaves
/// no rule touches first, before any rule runs), and after_rule after every rule.
class gradient_listener {
public:
    virtual ~gradient_listener() = default;
    /// The leaves watched; ready(i) refers to leaves()[i].
    virtual std::span<state_base* const> leaves() const = 0;
    /// A backward pass starts; used[i]: a recorded rule may add to leaf i's gradient.
    virtual void begin(const std::vector<bool>& used) = 0;
    /// No rule left in this pass adds to leaf i's gradient.
    virtual void ready(std::size_t i) = 0;
    /// Called after each rule: a moment to advance work already started.
    virtual void after_rule() {}
};

} // namespace autograd
STARBUCKS_NAMESPACE_END
