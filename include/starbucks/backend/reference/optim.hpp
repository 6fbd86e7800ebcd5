// SPDX-License-Identifier: Apache-2.0
// Reference backend: the fused AdamW parameter update.
#pragma once

#include <cmath>

#include "../concepts.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// Hyper-parameters of one AdamW step; `step` counts from 1 (bias correction).
struct adamw_args {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
    long step = 1;
};

struct reference_optim {
    /// Σ x_i² in double, in index order (global gradient norms).
    template <class C, class T>
    static double squared_norm(C&, std::size_t n, const T* x) {
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += double(x[i]) * double(x[i]);
        return s;
    }

    /// Decoupled weight decay then Adam, as torch.optim.AdamW.
    template <class C, class T>
    static void adamw(C&, std::size_t n, const adamw_args& a, T* param, const T* grad, T* m, T* v) {
        const double bc1 = 1 - std::pow(a.beta1, double(a.step));
        const double bc2 = 1 - std::pow(a.beta2, double(a.step));
        for (std::size_t i = 0; i < n; ++i) {
            const double g = grad[i];
            double p = double(param[i]) * (1 - a.lr * a.weight_decay);
            const double mi = a.beta1 * m[i] + (1 - a.beta1) * g;
            const double vi = a.beta2 * v[i] + (1 - a.beta2) * g * g;
            p -= a.lr * (mi / bc1) / (std::sqrt(vi / bc2) + a.eps);
            m[i] = T(mi);
            v[i] = T(vi);
            param[i] = T(p);
        }
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
