// SPDX-License-Identifier: Apache-2.0
// Reference backend: element-wise unary functions, their derivatives, and broadcast binary ops.
#pragma once

#include <cmath>
#include <numbers>

#include "../concepts.hpp"
#include "detail/strided_loop.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// Element-wise unary functions and their derivatives.
struct reference_unary {
    /// y = f(x) for n contiguous elements; `param` is the factor of unary_op::scale.
    template <class C, class T>
    static void unary(C&, unary_op op, std::size_t n, const T* x, T* y, T param = T(1)) {
        for (std::size_t i = 0; i < n; ++i) y[i] = apply(op, x[i], param);
    }

    /// dx += dy * f'(x), given x and y = f(x).
    template <class C, class T>
    static void unary_backward(C&, unary_op op, std::size_t n, const T* x, const T* y, const T* dy, T* dx,
                               T param = T(1)) {
        for (std::size_t i = 0; i < n; ++i) dx[i] += dy[i] * derivative(op, x[i], y[i], param);
    }

    /// f(x) for one element (the reference GEMM's epilogue uses it too).
    template <class T>
    static T apply(unary_op op, T x, T param) {
        switch (op) {
        case unary_op::neg: return -x;
        case unary_op::exp: return std::exp(x);
        case unary_op::log: return std::log(x);
        case unary_op::tanh: return std::tanh(x);
        case unary_op::gelu: return T(0.5) * x * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
        case unary_op::square: return x * x;
        case unary_op::sqrt: return std::sqrt(x);
        case unary_op::scale: return param * x;
        }
        return x;
    }

private:
    template <class T>
    static T derivative(unary_op op, T x, T y, T param) {
        switch (op) {
        case unary_op::neg: return T(-1);
        case unary_op::exp: return y;
        case unary_op::log: return T(1) / x;
        case unary_op::tanh: return T(1) - y * y;
        case unary_op::gelu: {
            const T cdf = T(0.5) * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
            const T pdf = std::exp(T(-0.5) * x * x) * T(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
            return cdf + x * pdf;
        }
        case unary_op::square: return T(2) * x;
        case unary_op::sqrt: return T(0.5) / y;
        case unary_op::scale: return param;
        }
        return T(0);
    }
};

/// Broadcast binary ops over strided layouts.
struct reference_binary {
    /// out = a (op) b. All three layouts carry the same iteration shape; a stride of 0 in a or b
    /// broadcasts. With `accumulate`, out += a (op) b, and a stride-0 axis of out sums along it.
    template <class C, class T>
    static void binary(C&, binary_op op, const strided<T>& out, const strided<const T>& a, const strided<const T>& b,
                       bool accumulate = false) {
        const shape& dims = out.lay.dims;
        const std::array<const std::array<std::ptrdiff_t, max_rank>*, 3> s{&out.lay.strides, &a.lay.strides,
                                                                           &b.lay.strides};
        strided_loop(dims, s, [&](std::ptrdiff_t oo, std::ptrdiff_t oa, std::ptrdiff_t ob) {
            const T r = combine(op, a.data[oa], b.data[ob]);
            if (accumulate) out.data[oo] += r;
            else out.data[oo] = r;
        });
    }

private:
    template <class T>
    static T combine(binary_op op, T a, T b) {
        switch (op) {
        case binary_op::add: return a + b;
        case binary_op::sub: return a - b;
        case binary_op::mul: return a * b;
        case binary_op::div: return a / b;
        }
        return T(0);
    }

};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
