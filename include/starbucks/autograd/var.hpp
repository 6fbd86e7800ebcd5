// SPDX-License-Identifier: Apache-2.0
// autograd::var<T, Extents, Backend>: a typed handle on a value the tape can differentiate.
#pragma once

#include <memory>

#include "tape.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// @brief A differentiable tensor: shared state plus static-where-known extents.
///
/// Represents: a leaf (a parameter or an input) or the result of a recorded op. Copies share
/// the state, as handles do. Requires: T is float or double.
template <real T, extents_type Extents, backend::backend_policy Backend = backend::reference>
class var {
public:
    using value_type = T;
    using extents_type = Extents;
    using backend_type = Backend;
    using state_type = var_state<T, Backend>;

    static constexpr std::size_t rank() noexcept { return Extents::rank(); }

    var() = default;
    /// A leaf holding `t`; with requires_grad its gradient accumulates in backward passes.
    explicit var(tensor<T, Extents, Backend> t, bool requires_grad = false)
        : ext_(t.extents()), state_(state_type::from_tensor(std::move(t), requires_grad)) {}
    /// Wraps existing state (used by the differentiable functions).
    var(std::shared_ptr<state_type> s, const Extents& e) : ext_(e), state_(std::move(s)) {}

    /// The values, as a (possibly strided) read-only view.
    tensor_view<const T, Extents, Backend> value() const { return state_->view(ext_); }
    /// Writable values of a leaf (optimizer updates, initialisation).
    tensor_view<T, Extents, Backend> mutable_value() { return state_->mutable_view(ext_); }
    bool has_grad() const noexcept { return state_ && state_->has_grad(); }
    /// The gradient (contiguous), zero until a backward pass reaches this value.
    tensor_view<const T, Extents, Backend> grad() const { return state_->grad(ext_); }
    tensor_view<T, Extents, Backend> mutable_grad() { return state_->grad(ext_); }
    /// Zeroes an allocated gradient: call between optimizer steps, not between micro-batches.
    void zero_grad() { state_->zero_grad(); }

    bool requires_grad() const noexcept { return state_ && state_->requires_grad; }
    const Extents& extents() const noexcept { return ext_; }
    std::size_t extent(std::size_t i) const noexcept { return ext_.extent(i); }
    std::size_t size() const noexcept { return ext_.size(); }
    shape dims() const noexcept { return ext_.to_shape(); }
    const std::shared_ptr<state_type>& state() const noexcept { return state_; }

    /// A loss term with this (scalar) value and a weight, for tape::backward.
    loss_term operator*(double weight) const { return loss_term{state_, weight}; }
    operator loss_term() const { return loss_term{state_, 1.0}; } // NOLINT: `tape.backward({loss})`

private:
    [[no_unique_address]] Extents ext_{};
    std::shared_ptr<state_type> state_;
};

template <class T>
inline constexpr bool is_var_v = false;
template <class T, class E, class B>
inline constexpr bool is_var_v<var<T, E, B>> = true;

/// A differentiable variable of any type.
template <class V>
concept variable = is_var_v<std::remove_cvref_t<V>>;

/// A leaf whose gradient is wanted: a trainable weight.
template <real T, extents_type E, backend::backend_policy B>
var<T, E, B> parameter(tensor<T, E, B> t) {
    return var<T, E, B>(std::move(t), true);
}
/// A leaf that needs no gradient: an input.
template <real T, extents_type E, backend::backend_policy B>
var<T, E, B> constant_input(tensor<T, E, B> t) {
    return var<T, E, B>(std::move(t), false);
}

namespace detail {
/// True when the op producing a value from these inputs must be recorded.
template <class... V>
tape* recording_for(const V&... inputs) {
    tape* t = tape::recording();
    if (!t || !(inputs.requires_grad() || ...)) return nullptr;
    if (t->listener()) (t->note_use(inputs.state().get()), ...);
    return t;
}

/// Wraps an op's output tensor; records `rule(out_state)` when a tape is recording.
template <class T, class E, class B, class Rule>
var<T, E, B> make_result(const char* op, tape* t, tensor<T, E, B>&& y, Rule&& rule) {
    const E e = y.extents();
    auto state = var_state<T, B>::from_tensor(std::move(y), t != nullptr);
    if (t) {
        t->record(op, state, [rule = std::forward<Rule>(rule), weak = std::weak_ptr<var_state<T, B>>(state)]() mutable {
            auto out = weak.lock();
            if (out && out->has_grad()) rule(*out);
        });
    }
    return var<T, E, B>(std::move(state), e);
}
} // namespace detail

} // namespace autograd
STARBUCKS_NAMESPACE_END
