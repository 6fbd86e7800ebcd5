// SPDX-License-Identifier: Apache-2.0
// autograd::tape: a flat list of recorded ops in execution order; backward is a reverse loop.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include "grad_mode.hpp"
#include "gradient_listener.hpp"
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
        if (!listener_) unheard_records_ = true;
        if (profiler* p = profiler::active()) p->forward_done(op);
    }

    /// @brief Seeds each loss's gradient with its weight and runs every rule in reverse order,
    /// telling the listener (if any) when each watched leaf's gradient is final.
    /// @throws shape_error when a loss is not a single element; usage_error when a listener is
    /// attached but some ops were recorded without it.
    void backward(std::initializer_list<loss_term> losses) { backward(std::vector<loss_term>(losses)); }
    void backward(const std::vector<loss_term>& losses) {
        for (auto& v : values_) v->reset_grad();
        for (const auto& l : losses) l.loss->seed_grad(l.weight);
        gradient_listener* const heard = listener_;
        if (heard && unheard_records_)
            throw usage_error("starbucks::autograd::tape::backward", "a gradient listener was attached after ops were recorded; attach it before the forward pass");
        const auto due = heard ? announce(*heard) : std::vector<std::pair<std::size_t, std::size_t>>{};
        std::size_t next_due = 0;
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
            if (heard) {
                for (; next_due < due.size() && due[next_due].first == i; ++next_due) heard->ready(due[next_due].second);
                heard->after_rule();
            }
        }
        if (p) p->mark();
    }

    /// @brief Attaches `l` (null detaches): from now on the tape notes which recorded rules can
    /// reach each value, and every backward pass reports to `l`. Attach before the forward pass.
    void listen(gradient_listener* l) noexcept { listener_ = l; }
    gradient_listener* listener() const noexcept { return listener_; }
    /// Called for the inputs of the op about to be recorded, while a listener is attached.
    void note_use(state_base* s) noexcept {
        if (!listener_ || !s || !s->requires_grad || s->use_pass == pass_) return;
        s->use_pass = pass_;
        s->first_use = nodes_.size();
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
        unheard_records_ = false;
        pass_ = next_pass();
    }
    std::size_t size() const noexcept { return nodes_.size(); }
    const std::vector<node>& nodes() const noexcept { return nodes_; }

private:
    /// A number no other recording (of any tape) has: first uses noted in an earlier one are stale.
    static std::uint64_t next_pass() noexcept {
        static std::atomic<std::uint64_t> counter{0};
        return ++counter;
    }

    /// begin and the ready calls of leaves no rule reaches; returns (node, leaf) for the others,
    /// ordered as backward reaches them.
    std::vector<std::pair<std::size_t, std::size_t>> announce(gradient_listener& l) const {
        const auto leaves = l.leaves();
        std::vector<bool> used(leaves.size(), false);
        std::vector<std::pair<std::size_t, std::size_t>> due;
        for (std::size_t i = 0; i < leaves.size(); ++i)
            if (leaves[i]->use_pass == pass_ && leaves[i]->first_use < nodes_.size()) {
                used[i] = true;
                due.emplace_back(leaves[i]->first_use, i);
            }
        std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
        l.begin(used);
        for (std::size_t i = 0; i < leaves.size(); ++i)
            if (!used[i]) l.ready(i);
        return due;
    }

    static tape*& active_slot() noexcept {
        thread_local tape* active = nullptr;
        return active;
    }

    std::vector<node> nodes_;
    std::vector<std::shared_ptr<state_base>> values_;
    bool keep_intermediate_grads_ = true;
    gradient_listener* listener_ = nullptr;
    bool unheard_records_ = false; // ops recorded since clear() while no listener noted their uses
    std::uint64_t pass_ = next_pass();
};

} // namespace autograd
STARBUCKS_NAMESPACE_END
