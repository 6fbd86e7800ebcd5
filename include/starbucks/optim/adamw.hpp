// SPDX-License-Identifier: Apache-2.0
// optim::adamw: decoupled weight decay Adam over a list of parameters of any shape.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "../autograd/var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace optim {

/// Hyper-parameters, with torch.optim.AdamW's defaults.
struct adamw_options {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
};

/// @brief AdamW for parameters of element type T on backend B.
///
/// Parameters are held through their shared state, so the optimizer is not templated on their
/// shapes. Moments are allocated on the first step; parameters without a gradient are skipped.
template <real T, backend::backend_policy B = backend::reference>
class adamw {
public:
    explicit adamw(adamw_options o = {}) : options_(o) {}

    /// Adds a parameter; `decay` false exempts it from weight decay (biases, LayerNorm).
    template <class E>
    void add(const autograd::var<T, E, B>& p, bool decay = true) {
        slots_.push_back(slot{p.state(), {}, {}, decay});
    }

    /// One update with learning rate `lr` (a schedule passes its value each step).
    void step(double lr) {
        ++step_;
        const backend::adamw_args decayed{lr, options_.beta1, options_.beta2, options_.eps, options_.weight_decay, step_};
        backend::adamw_args exempt = decayed;
        exempt.weight_decay = 0;
        for (auto& s : slots_) {
            if (!s.param->has_grad()) continue;
            ensure_moments(s);
            B::adamw(B::default_context(), s.m.size(), s.decay ? decayed : exempt, s.param->mutable_data(), s.param->grad_data(),
                     s.m.data(), s.v.data());
        }
    }
    void step() { step(options_.lr); }

    /// Zeroes every parameter's gradient (after a step, before the next micro-batches).
    void zero_grad() {
        for (auto& s : slots_) s.param->zero_grad();
    }
    long steps_taken() const noexcept { return step_; }
    const adamw_options& options() const noexcept { return options_; }
    std::size_t size() const noexcept { return slots_.size(); }

    /// @brief Calls f(i, m, v, n) for every parameter in the order added, with its first and
    /// second moments (n elements each; allocated and zero if no step has touched them yet).
    /// Checkpoints read the state through it and resume writes it back.
    template <class F>
    void for_each_moment(F&& f) {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            ensure_moments(slots_[i]);
            f(i, slots_[i].m.data(), slots_[i].v.data(), slots_[i].m.size());
        }
    }
    /// Sets the step count (bias correction) when resuming from a checkpoint.
    void set_steps_taken(long steps) noexcept { step_ = steps; }

private:
    struct slot {
        std::shared_ptr<autograd::var_state<T, B>> param;
        buffer<T, B> m, v;
        bool decay = true;
    };
    static void ensure_moments(slot& s) {
        const std::size_t n = s.param->lay().size();
        if (s.m.size() == n) return;
        s.m = buffer<T, B>(n);
        s.v = buffer<T, B>(n);
        B::fill(B::default_context(), n, T(0), s.m.data());
        B::fill(B::default_context(), n, T(0), s.v.data());
    }
    adamw_options options_;
    std::vector<slot> slots_;
    long step_ = 0;
};

} // namespace optim
STARBUCKS_NAMESPACE_END
