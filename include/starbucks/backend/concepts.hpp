// SPDX-License-Identifier: Apache-2.0
// What a backend is: an empty policy type with a context, memory functions and per-op statics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../core/shape.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend {

/// The activation a GEMM epilogue may end with (GELU in BERT's erf form).
enum class gemm_activation { none, gelu };

/// @brief What follows a product element by element, fused into the GEMM where the backend
/// can (a linear layer's bias, its GELU, a residual connection): in this order,
/// c = act(alpha * op(A) op(B) + beta * c + bias[j] + residual[i, j]).
template <class TC>
struct gemm_epilogue {
    const TC* bias = nullptr;     ///< n values shared by every row and batch entry; null: none
    const TC* residual = nullptr; ///< laid out as C (ldc, stride_c), not aliasing it; null: none
    gemm_activation activation = gemm_activation::none;
    bool empty() const noexcept { return !bias && !residual && activation == gemm_activation::none; }
};

/// @brief A (batched, strided) matrix product C = alpha * op(A) * op(B) + beta * C, then its
/// epilogue.
///
/// op(X) is X or its transpose. Matrices are row-major with leading dimensions lda, ldb, ldc;
/// batch b starts at a + b * stride_a (and likewise for B, C). A stride of 0 reuses one matrix
/// for every batch entry. Operands of type T, result of type TC: bf16 operands accumulate and
/// store in float. k may be 0 (an empty sum: the product is zero).
template <class T, class TC = T>
struct gemm_args {
    std::size_t batch = 1, m = 0, n = 0, k = 0;
    bool trans_a = false, trans_b = false;
    const T* a = nullptr;
    std::ptrdiff_t lda = 0, stride_a = 0;
    const T* b = nullptr;
    std::ptrdiff_t ldb = 0, stride_b = 0;
    TC* c = nullptr;
    std::ptrdiff_t ldc = 0, stride_c = 0;
    TC alpha = 1, beta = 0;
    /// Float operands only: round both operands to bf16 before multiplying, accumulating in
    /// f32 (matmul_precision::bf16). Every backend honours it with the same rounding.
    bool bf16_operands = false;
    /// B is a linear layer's weight (in either orientation), not an activation: a backend may
    /// reorder it into its kernel's packed layout, and inside a frozen_weights_scope keep that.
    bool b_is_weight = false;
    gemm_epilogue<TC> epilogue;
};

/// @brief A pointer to an operand plus its layout (shape and element strides).
template <class T>
struct strided {
    T* data = nullptr;
    layout lay;
};

/// Element-wise functions of one argument; `scale` multiplies by a parameter.
enum class unary_op { neg, exp, log, tanh, gelu, square, sqrt, scale };
/// Element-wise functions of two (broadcast) arguments.
enum class binary_op { add, sub, mul, div };

constexpr const char* to_string(unary_op op) noexcept {
    switch (op) {
    case unary_op::neg: return "neg";
    case unary_op::exp: return "exp";
    case unary_op::log: return "log";
    case unary_op::tanh: return "tanh";
    case unary_op::gelu: return "gelu";
    case unary_op::square: return "square";
    case unary_op::sqrt: return "sqrt";
    case unary_op::scale: return "scale";
    }
    return "?";
}

/// @brief A backend policy.
///
/// Represents: a memory space plus the kernels that run on it.
/// Requires: an empty type (all state lives in `context`), a `default_context()`, byte
/// allocation, and `host_accessible` saying whether its pointers may be dereferenced on the CPU.
/// Guarantees: code above `backend/` reaches element data only through the backend's statics.
template <class B>
concept backend_policy = std::is_empty_v<B> && requires(std::size_t bytes, void* p) {
    typename B::context;
    { B::default_context() } -> std::same_as<typename B::context&>;
    { B::allocate(bytes) } -> std::same_as<void*>;
    B::deallocate(p, bytes);
    { B::host_accessible } -> std::convertible_to<bool>;
    { B::name } -> std::convertible_to<const char*>;
};

/// True when backend B has a gemm for element type T (results in TC).
template <class B, class T, class TC = T>
concept has_gemm = requires(typename B::context& c, const gemm_args<T, TC>& g) { B::gemm(c, g); };

} // namespace backend
STARBUCKS_NAMESPACE_END
