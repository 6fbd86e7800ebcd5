// SPDX-License-Identifier: Apache-2.0
// contiguous_input: a read-only operand as a dense pointer, copying only when it is strided.
#pragma once

#include "tensor.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// @brief A read-only operand as a contiguous row-major pointer: the view itself when it is
/// dense, otherwise a private copy. Kernels then only ever see row-major data.
template <class T, class E, class B>
class contiguous_input {
public:
    explicit contiguous_input(tensor_view<const T, E, B> v) {
        if (v.is_contiguous()) {
            ptr_ = v.data();
        } else {
            copy_ = tensor<T, E, B>(v.extents(), uninitialized);
            copy_.copy_from(v);
            ptr_ = copy_.data();
        }
    }
    const T* data() const noexcept { return ptr_; }

private:
    const T* ptr_ = nullptr;
    tensor<T, E, B> copy_;
};

template <class V>
contiguous_input(V) -> contiguous_input<std::remove_const_t<typename V::element_type>, typename V::extents_type,
                                        typename V::backend_type>;

STARBUCKS_NAMESPACE_END
