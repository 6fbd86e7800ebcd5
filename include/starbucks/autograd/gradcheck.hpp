// SPDX-License-Identifier: Apache-2.0
// autograd::gradcheck: analytic gradients against float64 central differences.
#pragma once

#include <cmath>
#include <sstream>
#include <string>
#include <tuple>

#include "var.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// Step and tolerances: pass when |analytic - numeric| <= atol + rtol * |numeric| everywhere.
struct gradcheck_options {
    double eps = 1e-6;
    double atol = 1e-5;
    double rtol = 1e-3;
};

/// The verdict, with the worst element when it failed.
struct gradcheck_result {
    bool ok = true;
    std::size_t checked = 0; ///< elements compared
    double max_abs_error = 0;
    std::string message;     ///< "input 1, element 7: analytic 0.25 vs numeric 0.2501" on failure
    explicit operator bool() const noexcept { return ok; }
};

/// @brief Checks the gradient of a scalar function of double tensors on the reference backend.
///
/// `f` takes one var per input (leaves with requires_grad) and returns a rank-0 var. The analytic
/// gradient comes from one tape; the numeric one from (f(x + eps) - f(x - eps)) / 2 eps per
/// element, evaluated under no_grad. Works for users' own layers as well as the library's.
/// @pre f is deterministic (fix dropout seeds).
template <class F, class... E>
gradcheck_result gradcheck(F&& f, const gradcheck_options& opt, tensor<double, E, backend::reference>&... inputs) {
    using B = backend::reference;
    auto eval = [&]() {
        no_grad guard;
        return f(var<double, E, B>(tensor<double, E, B>(inputs), true)...).value()();
    };
    // Analytic.
    tape t;
    std::tuple<var<double, E, B>...> leaves{var<double, E, B>(tensor<double, E, B>(inputs), true)...};
    {
        auto guard = t.activate();
        auto loss = std::apply(f, leaves);
        t.backward({loss});
    }
    gradcheck_result result;
    std::size_t input_index = 0;
    auto check_one = [&](auto& x, auto& leaf) {
        const bool has = leaf.has_grad();
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double saved = x.data()[i];
            x.data()[i] = saved + opt.eps;
            const double up = eval();
            x.data()[i] = saved - opt.eps;
            const double down = eval();
            x.data()[i] = saved;
            const double numeric = (up - down) / (2 * opt.eps);
            const double analytic = has ? leaf.grad().data()[i] : 0.0;
            const double err = std::abs(analytic - numeric);
            ++result.checked;
            if (!(err <= opt.atol + opt.rtol * std::abs(numeric))) {
                if (result.ok || err > result.max_abs_error) {
                    std::ostringstream m;
                    m.precision(10);
                    m << "input " << input_index << ", element " << i << ": analytic " << analytic << " vs numeric " << numeric;
                    result.message = m.str();
                }
                result.ok = false;
            }
            if (err > result.max_abs_error || std::isnan(err)) result.max_abs_error = err;
        }
        ++input_index;
    };
    std::apply([&](auto&... leaf) { (check_one(inputs, leaf), ...); }, leaves);
    return result;
}

/// gradcheck with the default eps 1e-6, atol 1e-5, rtol 1e-3.
template <class F, class... E>
gradcheck_result gradcheck(F&& f, tensor<double, E, backend::reference>&... inputs) {
    return gradcheck(std::forward<F>(f), gradcheck_options{}, inputs...);
}

} // namespace autograd
STARBUCKS_NAMESPACE_END
