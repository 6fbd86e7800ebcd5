// SPDX-License-Identifier: Apache-2.0
// tensor<T, Extents, Backend>: an owning, contiguous, 64-byte aligned n-d array.
#pragma once

#include <concepts>
#include <type_traits>
#include <utility>

#include "buffer.hpp"
#include "view.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// Tag: allocate without initialising (the caller overwrites every element).
struct uninitialized_t {
    explicit uninitialized_t() = default;
};
inline constexpr uninitialized_t uninitialized{};

/// @brief An owning tensor in Backend's memory, row-major and contiguous.
///
/// Represents: `extents().size()` elements of T. Static extents are checked at compile time
/// where both sides are known, dynamic ones at run time. Guarantees: copies are deep; moves are
/// cheap; new tensors are zero-filled unless `uninitialized` is passed.
template <element T, extents_type Extents, backend::backend_policy Backend = backend::reference>
class tensor {
public:
    using value_type = T;
    using extents_type = Extents;
    using backend_type = Backend;
    using view_type = tensor_view<T, Extents, Backend>;
    using const_view_type = tensor_view<const T, Extents, Backend>;

    static constexpr std::size_t rank() noexcept { return Extents::rank(); }

    tensor() requires(Extents::rank_dynamic() > 0) = default;
    tensor() requires(Extents::rank_dynamic() == 0) : tensor(Extents{}) {}
    explicit tensor(const Extents& e) : tensor(e, uninitialized) {
        Backend::fill(Backend::default_context(), size(), T{}, data());
    }
    tensor(const Extents& e, uninitialized_t) : buf_(e.size()), ext_(e) {}
    /// `tensor<float, extents<dyn, 768>> x(32);` — the dynamic extents (or every extent).
    template <std::integral... I>
        requires(sizeof...(I) > 0 && std::is_constructible_v<Extents, I...>)
    explicit tensor(I... values) : tensor(Extents(values...)) {}

    tensor(const tensor& o) : tensor(o.ext_, uninitialized) { copy_from(o.view()); }
    tensor& operator=(const tensor& o) {
        if (this != &o) {
            tensor tmp(o);
            *this = std::move(tmp);
        }
        return *this;
    }
    /// Moves leave the source empty: no allocation and, where extents are dynamic, size 0.
    tensor(tensor&& o) noexcept : buf_(std::move(o.buf_)), ext_(std::exchange(o.ext_, Extents{})) {}
    tensor& operator=(tensor&& o) noexcept {
        buf_ = std::move(o.buf_);
        ext_ = std::exchange(o.ext_, Extents{});
        return *this;
    }

    T* data() noexcept { return buf_.data(); }
    const T* data() const noexcept { return buf_.data(); }
    const Extents& extents() const noexcept { return ext_; }
    std::size_t extent(std::size_t i) const noexcept { return ext_.extent(i); }
    std::size_t size() const noexcept { return ext_.size(); }
    shape dims() const noexcept { return ext_.to_shape(); }

    view_type view() noexcept { return view_type(data(), ext_); }
    const_view_type view() const noexcept { return const_view_type(data(), ext_); }
    operator view_type() noexcept { return view(); }             // NOLINT: tensors pass where views go
    operator const_view_type() const noexcept { return view(); } // NOLINT

    template <std::integral... I>
        requires(sizeof...(I) == Extents::rank() && Backend::host_accessible)
    T& operator()(I... idx) noexcept(!STARBUCKS_ENABLE_CHECKS) {
        return view()(idx...);
    }
    template <std::integral... I>
        requires(sizeof...(I) == Extents::rank() && Backend::host_accessible)
    const T& operator()(I... idx) const noexcept(!STARBUCKS_ENABLE_CHECKS) {
        return view()(idx...);
    }

    /// Copies the elements of a view of the same shape into this tensor.
    void copy_from(tensor_view<const T, Extents, Backend> src) {
        if (!(src.extents() == ext_))
            throw shape_error("starbucks::tensor::copy_from", "source " + to_string(src.extents()) + " vs destination " +
                                                                  to_string(ext_));
        Backend::copy(Backend::default_context(), backend::strided<T>{data(), view().lay()},
                      backend::strided<const T>{src.data(), src.lay()});
    }

    /// Gives up the allocation (the tensor is left empty); how the autograd adopts a result.
    buffer<T, Backend> release_buffer() && noexcept {
        ext_ = Extents{};
        return std::move(buf_);
    }

private:
    buffer<T, Backend> buf_;
    [[no_unique_address]] Extents ext_{};
};

template <class T>
inline constexpr bool is_tensor_v = false;
template <class T, class E, class B>
inline constexpr bool is_tensor_v<tensor<T, E, B>> = true;

/// A tensor or a view: anything `as_view` accepts.
template <class X>
concept tensor_like = is_tensor_v<std::remove_cvref_t<X>> || is_tensor_view_v<std::remove_cvref_t<X>>;

/// The view of a tensor (read-only for a const tensor) or the view itself.
template <class T, class E, class B>
auto as_view(tensor<T, E, B>& x) noexcept {
    return x.view();
}
template <class T, class E, class B>
auto as_view(const tensor<T, E, B>& x) noexcept {
    return x.view();
}
template <class T, class E, class B>
auto as_view(const tensor_view<T, E, B>& x) noexcept {
    return x;
}
/// A read-only view of anything tensor-like.
template <class T, class E, class B>
tensor_view<const T, E, B> as_const_view(const tensor<T, E, B>& x) noexcept {
    return x.view();
}
template <class T, class E, class B>
tensor_view<const T, E, B> as_const_view(const tensor_view<T, E, B>& x) noexcept {
    return x;
}

/// Element type, extents and backend of a tensor-like type.
template <tensor_like X>
using value_type_t = std::remove_const_t<typename std::remove_cvref_t<X>::value_type>;
template <tensor_like X>
using extents_t = typename std::remove_cvref_t<X>::extents_type;
template <tensor_like X>
using backend_t = typename std::remove_cvref_t<X>::backend_type;

STARBUCKS_NAMESPACE_END
