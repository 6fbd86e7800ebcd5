// SPDX-License-Identifier: Apache-2.0
// Reference backend: host memory, fills, strided copies and accumulation, dtype conversion.
#pragma once

#include <cstring>
#include <new>
#include <string>

#include "../../core/dtype.hpp"
#include "../../core/error.hpp"
#include "../concepts.hpp"
#include "../host_pool.hpp"
#include "detail/strided_loop.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

/// For backends that need no handles or streams: an empty context shared by every call.
struct stateless {
    struct context {};
    static context& default_context() noexcept {
        static context c;
        return c;
    }
};

struct reference_memory {
    /// 64-byte aligned host memory from the shared host_pool; a failed allocation is a
    /// resource_error, not a crash.
    static void* allocate(std::size_t bytes) { return host_pool::instance().allocate(bytes); }
    static void deallocate(void* p, std::size_t bytes) noexcept { host_pool::instance().deallocate(p, bytes); }

    template <class C, class T>
    static void fill(C&, std::size_t n, T value, T* y) {
        for (std::size_t i = 0; i < n; ++i) y[i] = value;
    }

    /// dst = src; both of the same shape, any strides (dst strides must not alias).
    template <class C, class T>
    static void copy(C&, const strided<T>& dst, const strided<const T>& src) {
        const std::array<const std::array<std::ptrdiff_t, max_rank>*, 2> s{&dst.lay.strides, &src.lay.strides};
        strided_loop(src.lay.dims, s, [&](std::ptrdiff_t od, std::ptrdiff_t os) { dst.data[od] = src.data[os]; });
    }

    /// dst += alpha * src over src's shape. A dst stride of 0 sums along that axis, which is how
    /// broadcast gradients are reduced and prefix-view gradients scatter into their parent.
    template <class C, class T>
    static void accumulate(C&, const strided<T>& dst, const strided<const T>& src, T alpha) {
        const std::array<const std::array<std::ptrdiff_t, max_rank>*, 2> s{&dst.lay.strides, &src.lay.strides};
        strided_loop(src.lay.dims, s,
                     [&](std::ptrdiff_t od, std::ptrdiff_t os) { dst.data[od] += alpha * src.data[os]; });
    }

    /// y = D(x) element-wise; float to bf16 rounds to nearest even.
    template <class C, class S, class D>
    static void convert(C&, std::size_t n, const S* x, D* y) {
        for (std::size_t i = 0; i < n; ++i) {
            if constexpr (std::is_same_v<D, bf16>) y[i] = bf16(static_cast<float>(x[i]));
            else if constexpr (std::is_same_v<S, bf16>) y[i] = static_cast<D>(static_cast<float>(x[i]));
            else y[i] = static_cast<D>(x[i]);
        }
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
