// SPDX-License-Identifier: Apache-2.0
// tensor_view<T, Extents, Backend>: a strided, non-owning window onto a backend's memory.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

#include "../backend/concepts.hpp"
#include "../backend/reference/reference.hpp"
#include "../core/dtype.hpp"
#include "../core/extents.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// @brief A non-owning view: pointer, extents and element strides.
///
/// Represents: elements data[sum_i idx_i * stride_i]; `T` is const for read-only views.
/// Requires: the memory outlives the view. Guarantees: copying a view never copies elements.
template <element T, extents_type Extents, backend::backend_policy Backend = backend::reference>
class tensor_view {
public:
    using element_type = T;
    using value_type = std::remove_const_t<T>;
    using extents_type = Extents;
    using backend_type = Backend;
    using strides_type = std::array<std::ptrdiff_t, Extents::rank()>;

    static constexpr std::size_t rank() noexcept { return Extents::rank(); }

    constexpr tensor_view() = default;
    /// A contiguous row-major view.
    constexpr tensor_view(T* data, const Extents& e) : data_(data), ext_(e) {
        std::ptrdiff_t s = 1;
        for (std::size_t i = rank(); i-- > 0;) {
            strides_[i] = s;
            s *= static_cast<std::ptrdiff_t>(e.extent(i));
        }
    }
    constexpr tensor_view(T* data, const Extents& e, const strides_type& strides)
        : data_(data), ext_(e), strides_(strides) {}

    /// A mutable view converts to a read-only one.
    template <class U>
        requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
    constexpr tensor_view(const tensor_view<U, Extents, Backend>& o) // NOLINT: implicit on purpose
        : data_(o.data()), ext_(o.extents()), strides_(o.strides()) {}

    constexpr T* data() const noexcept { return data_; }
    constexpr const Extents& extents() const noexcept { return ext_; }
    constexpr std::size_t extent(std::size_t i) const noexcept { return ext_.extent(i); }
    constexpr std::ptrdiff_t stride(std::size_t i) const noexcept { return strides_[i]; }
    constexpr const strides_type& strides() const noexcept { return strides_; }
    constexpr std::size_t size() const noexcept { return ext_.size(); }
    constexpr shape dims() const noexcept { return ext_.to_shape(); }
    constexpr layout lay() const noexcept {
        layout l;
        l.dims = dims();
        for (std::size_t i = 0; i < rank(); ++i) l.strides[i] = strides_[i];
        return l;
    }
    constexpr bool is_contiguous() const noexcept { return lay().is_contiguous(); }

    /// Element access on host-memory backends (tests, gradcheck, printing). With
    /// STARBUCKS_ENABLE_CHECKS an index out of range throws shape_error.
    template <std::integral... I>
        requires(sizeof...(I) == Extents::rank() && Backend::host_accessible)
    constexpr T& operator()(I... idx) const noexcept(!STARBUCKS_ENABLE_CHECKS) {
        const std::array<std::size_t, sizeof...(I)> i{static_cast<std::size_t>(idx)...};
        std::ptrdiff_t off = 0;
        for (std::size_t k = 0; k < sizeof...(I); ++k) {
            if constexpr (STARBUCKS_ENABLE_CHECKS)
                if (i[k] >= ext_.extent(k))
                    throw shape_error("starbucks::tensor_view::operator()", "index " + std::to_string(i[k]) + " on axis " +
                                                                                std::to_string(k) + " of " + to_string(dims()));
            off += static_cast<std::ptrdiff_t>(i[k]) * strides_[k];
        }
        return data_[off];
    }

private:
    T* data_ = nullptr;
    [[no_unique_address]] Extents ext_{};
    strides_type strides_{};
};

template <class T>
inline constexpr bool is_tensor_view_v = false;
template <class T, class E, class B>
inline constexpr bool is_tensor_view_v<tensor_view<T, E, B>> = true;

STARBUCKS_NAMESPACE_END
