// SPDX-License-Identifier: Apache-2.0
// Explicit moves between memory spaces: to<B>(x) copies a tensor onto backend B.
#pragma once

#include <cstring>
#include <type_traits>

#include "copy.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend {

/// A backend whose memory the host cannot touch moves bytes with upload / download (cuda).
template <class B>
concept has_transfers = requires(typename B::context& c, void* d, const void* s, std::size_t n) {
    B::upload(c, d, s, n);
    B::download(c, d, s, n);
};

} // namespace backend

/// @brief A contiguous copy of `x` on backend `To`: host to host, host to device, device to host
/// or within one device. The only way data crosses between memory spaces; nothing moves implicitly.
template <class To, tensor_like X>
auto to(const X& x) {
    using T = std::remove_const_t<value_type_t<X>>;
    using From = backend_t<X>;
    auto in = contiguous(as_const_view(x));
    if constexpr (std::is_same_v<From, To>) {
        return in;
    } else {
        tensor<T, extents_t<X>, To> out(in.extents(), uninitialized);
        const std::size_t bytes = in.size() * sizeof(T);
        if (bytes == 0) return out;
        if constexpr (From::host_accessible && To::host_accessible) {
            std::memcpy(out.data(), in.data(), bytes);
        } else if constexpr (From::host_accessible) {
            static_assert(backend::has_transfers<To>, "starbucks::to: the destination backend has no upload");
            To::upload(To::default_context(), out.data(), in.data(), bytes);
        } else {
            static_assert(To::host_accessible && backend::has_transfers<From>,
                          "starbucks::to: copy between two device backends through the host explicitly");
            From::download(From::default_context(), out.data(), in.data(), bytes);
        }
        return out;
    }
}

STARBUCKS_NAMESPACE_END
