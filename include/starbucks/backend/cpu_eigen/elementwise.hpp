// SPDX-License-Identifier: Apache-2.0
// cpu_eigen: vectorised element-wise unary functions and their derivatives over Eigen arrays.
#pragma once

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include <cmath>
#include <numbers>

#include "../concepts.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct eigen_elementwise {
    template <class C, class T>
    static void unary(C&, unary_op op, std::size_t n, const T* x, T* y, T param = T(1)) {
        const auto nn = static_cast<Eigen::Index>(n);
        Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> xa(x, nn);
        Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> ya(y, nn);
        switch (op) {
        case unary_op::neg: ya = -xa; break;
        case unary_op::exp: ya = xa.exp(); break;
        case unary_op::log: ya = xa.log(); break;
        case unary_op::tanh: ya = xa.tanh(); break;
        case unary_op::gelu: ya = T(0.5) * xa * (T(1) + (xa * T(std::numbers::sqrt2 / 2)).erf()); break;
        case unary_op::square: ya = xa.square(); break;
        case unary_op::sqrt: ya = xa.sqrt(); break;
        case unary_op::scale: ya = param * xa; break;
        }
    }

    /// dx += dy * f'(x), given x and y = f(x).
    template <class C, class T>
    static void unary_backward(C&, unary_op op, std::size_t n, const T* x, const T* y, const T* dy, T* dx,
                               T param = T(1)) {
        const auto nn = static_cast<Eigen::Index>(n);
        using carray = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
        carray xa(x, nn), ya(y, nn), ga(dy, nn);
        Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> da(dx, nn);
        switch (op) {
        case unary_op::neg: da -= ga; break;
        case unary_op::exp: da += ga * ya; break;
        case unary_op::log: da += ga / xa; break;
        case unary_op::tanh: da += ga * (T(1) - ya.square()); break;
        case unary_op::gelu: {
            const T inv_sqrt_2pi = T(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
            da += ga * (T(0.5) * (T(1) + (xa * T(std::numbers::sqrt2 / 2)).erf()) +
                        xa * (T(-0.5) * xa.square()).exp() * inv_sqrt_2pi);
            break;
        }
        case unary_op::square: da += ga * T(2) * xa; break;
        case unary_op::sqrt: da += ga * T(0.5) / ya; break;
        case unary_op::scale: da += ga * param; break;
        }
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
