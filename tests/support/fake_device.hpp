// SPDX-License-Identifier: Apache-2.0
// testing::fake_device: a backend the host may not touch, for machines without a GPU. Its
// memory is host memory, but the pointers it hands out are tagged (2^62 added: not a valid
// address), so any code that dereferences "device" memory on the host faults at once. Its ops
// untag every pointer and run backend::reference's kernels, and its upload / download are
// memcpy. Code above the backend that runs on it is code that moves data only through the
// backend, and it gives bitwise the reference's results.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include <starbucks/backend/reference/reference.hpp>

namespace starbucks::testing {

struct fake_device {
    using context = backend::reference::context;
    static context& default_context() noexcept { return backend::reference::default_context(); }
    static constexpr bool host_accessible = false;
    static constexpr const char* name = "fake_device";
    static constexpr std::uintptr_t tag = std::uintptr_t{1} << 62;

    template <class T>
    static T* untag(T* p) noexcept {
        return p ? reinterpret_cast<T*>(reinterpret_cast<std::uintptr_t>(p) - tag) : nullptr;
    }

    static void* allocate(std::size_t bytes) {
        void* p = backend::reference::allocate(bytes);
        return p ? reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(p) + tag) : nullptr;
    }
    static void deallocate(void* p, std::size_t bytes) noexcept { backend::reference::deallocate(untag(p), bytes); }
    static void upload(context&, void* device_dst, const void* host_src, std::size_t bytes) {
        if (bytes) std::memcpy(untag(device_dst), host_src, bytes);
    }
    static void download(context&, void* host_dst, const void* device_src, std::size_t bytes) {
        if (bytes) std::memcpy(host_dst, untag(device_src), bytes);
    }

    /// Every argument of an op with its pointers untagged (pointers, strided operands, GEMM
    /// arguments); anything else as it is.
    template <class A>
    static decltype(auto) host(A&& a) {
        using D = std::remove_cvref_t<A>;
        if constexpr (std::is_pointer_v<D>) {
            return untag(a);
        } else if constexpr (requires { a.lay; a.data; }) {
            D s = a;
            s.data = untag(s.data);
            return s;
        } else if constexpr (requires { a.epilogue; a.trans_a; }) {
            D g = a;
            g.a = untag(g.a), g.b = untag(g.b), g.c = untag(g.c);
            g.epilogue.bias = untag(g.epilogue.bias), g.epilogue.residual = untag(g.epilogue.residual);
            return g;
        } else {
            return std::forward<A>(a);
        }
    }

#define STARBUCKS_FAKE_DEVICE_OP(op)                                                                          \
    template <class C, class... A>                                                                            \
    static decltype(auto) op(C& c, A&&... a) {                                                                \
        return backend::reference::op(c, host(std::forward<A>(a))...);                                       \
    }
    STARBUCKS_FAKE_DEVICE_OP(fill)
    STARBUCKS_FAKE_DEVICE_OP(copy)
    STARBUCKS_FAKE_DEVICE_OP(accumulate)
    STARBUCKS_FAKE_DEVICE_OP(convert)
    STARBUCKS_FAKE_DEVICE_OP(gemm)
    STARBUCKS_FAKE_DEVICE_OP(unary)
    STARBUCKS_FAKE_DEVICE_OP(unary_backward)
    STARBUCKS_FAKE_DEVICE_OP(binary)
    STARBUCKS_FAKE_DEVICE_OP(softmax)
    STARBUCKS_FAKE_DEVICE_OP(softmax_backward)
    STARBUCKS_FAKE_DEVICE_OP(logsumexp)
    STARBUCKS_FAKE_DEVICE_OP(logsumexp_backward)
    STARBUCKS_FAKE_DEVICE_OP(layer_norm)
    STARBUCKS_FAKE_DEVICE_OP(layer_norm_backward)
    STARBUCKS_FAKE_DEVICE_OP(l2_normalize)
    STARBUCKS_FAKE_DEVICE_OP(l2_normalize_backward)
    STARBUCKS_FAKE_DEVICE_OP(gather_rows)
    STARBUCKS_FAKE_DEVICE_OP(scatter_add_rows)
    STARBUCKS_FAKE_DEVICE_OP(masked_mean)
    STARBUCKS_FAKE_DEVICE_OP(masked_mean_backward)
    STARBUCKS_FAKE_DEVICE_OP(cross_entropy)
    STARBUCKS_FAKE_DEVICE_OP(cross_entropy_backward)
    STARBUCKS_FAKE_DEVICE_OP(kl_div)
    STARBUCKS_FAKE_DEVICE_OP(kl_div_backward)
    STARBUCKS_FAKE_DEVICE_OP(squared_norm)
    STARBUCKS_FAKE_DEVICE_OP(adamw)
    STARBUCKS_FAKE_DEVICE_OP(dropout)
    STARBUCKS_FAKE_DEVICE_OP(fill_uniform)
    STARBUCKS_FAKE_DEVICE_OP(fill_normal)
#undef STARBUCKS_FAKE_DEVICE_OP
};

static_assert(backend::backend_policy<fake_device>);

} // namespace starbucks::testing
