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

/// Where host code builds data for backend B: B itself when the host can touch its memory,
/// else the reference backend (then `to<B>` uploads it).
template <class B>
using host_backend_t = std::conditional_t<B::host_accessible, B, reference>;

} // namespace backend

/// `to` for a tensor the caller gives up: moved, not copied, when it is already on `To`.
template <class To, class T, class E, class From>
    requires std::is_same_v<From, To>
tensor<T, E, To> to(tensor<T, E, From>&& x) {
    return std::move(x);
}

/// @brief A contiguous copy of `x` on backend `To`: host to host, host to device, device to host
/// or within one device. The only way data crosses between memory spaces; nothing moves implicitly.
template <class To, tensor_like X>
auto to(const X& x) {
    using T = std::remove_const_t<value_type_t<X>>;
    using From = backend_t<X>;
    const auto v = as_const_view(x);
    if constexpr (std::is_same_v<From, To>) {
        return contiguous(v);
    } else {
        const contiguous_input in(v); // a dense source is read in place, not copied first
        tensor<T, extents_t<X>, To> out(v.extents(), uninitialized);
        const std::size_t bytes = v.size() * sizeof(T);
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

/// The value of a one-element tensor, wherever it lives (a device value is downloaded: the
/// stream is waited for).
template <tensor_like X>
std::remove_const_t<value_type_t<X>> item(const X& x) {
    using T = std::remove_const_t<value_type_t<X>>;
    using B = backend_t<X>;
    const auto v = as_const_view(x);
    if (v.size() != 1) throw shape_error("starbucks::item", "a tensor of " + to_string(v.dims()) + " is not a single value");
    if constexpr (B::host_accessible) {
        return *v.data();
    } else {
        T out{};
        B::download(B::default_context(), &out, v.data(), sizeof(T));
        return out;
    }
}

/// A copy of `x` the host can read: `x`'s own backend when that is host memory.
template <tensor_like X>
auto host_copy(const X& x) {
    return to<backend::host_backend_t<backend_t<X>>>(x);
}

STARBUCKS_NAMESPACE_END
