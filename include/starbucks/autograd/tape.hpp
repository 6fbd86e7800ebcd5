// SPDX-License-Identifier: Apache-2.0
// autograd::tape: a flat list of recorded ops in execution order; backward is a reverse loop.
#pragma once

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include "grad_mode.hpp"
#include "profiler.hpp"
#include "var_state.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// @brief One recorded op: its name and the rule that moves output gradients to its inputs.
/// The rule captures its values through shared pointers, so the tape is not a template.
struct node {
    const char* op = "";
    std::function<void()> backward;
};

/// A scalar loss and the weight its gradient is seeded with.
struct loss_term {
    std::shared_ptr<state_base> loss;
    double weight = 1.0;
};

/// @brief The record of one forward pass.
///
/// Represents: the ops run while the tape was active, already in topological order.
/// Guarantees: `backward` is a reverse loop (no recursion, no sort); it leaves the tape intact,
/// so running it twice from the same state gives bitwise identical gradients. Leaf gradients
/// accumulate across calls (micro-batches) until the caller zeroes them.
class tape {
public:
    tape() = default;
    tape(const tape&) = delete;
    tape& operator=(const tape&) = delete;
    ~tape() {
        if (active_slot() == this) active_slot() = nullptr;
    }

    /// RAII: makes this tape the one ops record on (per thread); restores the previous on exit.
    class scope {
    public:
        explicit scope(tape& t) noexcept : previous_(active_slot()) {
            active_slot() = &t;
            if (profiler* p = profiler::active()) p->mark();
        }
        ~scope() { active_slot() = previous_; }
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;

    private:
        tape* previous_;
    };
    [[nodiscard]] scope activate() noexcept { return scope(*this); }

    /// The tape ops record on, or null when none is active or a no_grad scope is open.
    static tape* recording() noexcept { return grad_enabled() ? active_slot() : nullptr; }

    /// Appends an op; `produced` is the intermediate value it made (its gradient is reset at
    /// the start of every backward pass).
    void record(const char* op, std::shared_ptr<state_base> produced, std::function<void()> backward) {
        values_.push_back(std::move(produced));
        nodes_.push_back(node{op, std::move(backward)});
        if (profiler* p = profiler::active()) p->forward_done(op);
    }

    /// @brief Seeds each loss's gradient with its weight and runs every rule in reverse order.
    /// @throws shape_error when a loss is not a single element.
    void backward(std::initializer_list<loss_term> losses) { backward(std::vector<loss_term>(losses)); }
    void backward(const std::vector<loss_term>& losses) {
        for (auto& v : values_) v->reset_grad();
        for (const auto& l : losses) l.loss->seed_grad(l.weight);
        profiler* p = profiler::active();
        for (std::size_t i = nodes_.size(); i-- > 0;) {
            if (p) {
                const auto start = profiler::clock::now();
                nodes_[i].backward();
                p->add_backward(nodes_[i].op, std::chrono::duration<double>(profiler::clock::now() - start).count());
            } else {
                nodes_[i].backward();
            }
            if (!keep_intermediate_grads_) values_[i]->reset_grad();
        }
        if (p) p->mark();
    }

    /// @brief Whether intermediate values keep their gradients after backward (the default, so
    /// they can be inspected). Off, each is freed as soon as its op's rule has run — every user
    /// of it has passed its gradient on by then — so intermediate gradients never all live at
    /// once; only leaves keep theirs. Training loops turn it off.
    void keep_intermediate_grads(bool keep) noexcept { keep_intermediate_grads_ = keep; }

    /// Forgets every node and intermediate value (their memory is freed with the last user).
    void clear() noexcept {
        nodes_.clear();
        values_.clear();
    }
    std::size_t size() const noexcept { return nodes_.size(); }
    const std::vector<node>& nodes() const noexcept { return nodes_; }

private:
    static tape*& active_slot() noexcept {
        thread_local tape* active = nullptr;
        return active;
    }

    std::vector<node> nodes_;
    std::vector<std::shared_ptr<state_base>> values_;
    bool keep_intermediate_grads_ = true;
};

} // namespace autograd
STARBUCKS_NAMESPACE_END
