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

    template <class E>
    void add(const autograd::var<T, E, B>& p) {
        slots_.push_back(slot{p.state(), {}, {}});
    }

    /// One update with learning rate `lr` (a schedule passes its value each step).
    void step(double lr) {
        ++step_;
        backend::adamw_args a{lr, options_.beta1, options_.beta2, options_.eps, options_.weight_decay, step_};
        for (auto& s : slots_) {
            if (!s.param->has_grad()) continue;
            const std::size_t n = s.param->lay().size();
            if (s.m.size() != n) {
                s.m = buffer<T, B>(n);
                s.v = buffer<T, B>(n);
                B::fill(B::default_context(), n, T(0), s.m.data());
                B::fill(B::default_context(), n, T(0), s.v.data());
            }
            B::adamw(B::default_context(), n, a, s.param->mutable_data(), s.param->grad_data(), s.m.data(), s.v.data());
        }
    }
    void step() { step(options_.lr); }

    /// Zeroes every parameter's gradient (after a step, before the next micro-batches).
    void zero_grad() {
        for (auto& s : slots_) s.param->zero_grad();
    }
    long steps_taken() const noexcept { return step_; }
    const adamw_options& options() const noexcept { return options_; }

private:
    struct slot {
        std::shared_ptr<autograd::var_state<T, B>> param;
        buffer<T, B> m, v;
    };
    adamw_options options_;
    std::vector<slot> slots_;
    long step_ = 0;
};

} // namespace optim
STARBUCKS_NAMESPACE_END
