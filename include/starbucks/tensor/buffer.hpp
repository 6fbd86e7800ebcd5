// SPDX-License-Identifier: Apache-2.0
// buffer<T, Backend>: an owning, 64-byte aligned allocation in a backend's memory space.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <utility>

#include "../backend/concepts.hpp"
#include "../core/dtype.hpp"
#include "../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// @brief Owns `size()` elements of T allocated by Backend. Move-only; contents uninitialised.
template <element T, backend::backend_policy Backend>
class buffer {
public:
    buffer() = default;
    explicit buffer(std::size_t n) : size_(n) {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T))
            throw resource_error("starbucks::buffer", std::to_string(n) + " elements of " + std::to_string(sizeof(T)) +
                                                          " bytes overflow the address space");
        data_ = static_cast<T*>(Backend::allocate(n * sizeof(T)));
    }
    buffer(buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    buffer& operator=(buffer&& o) noexcept {
        if (this != &o) {
            release();
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    buffer(const buffer&) = delete;
    buffer& operator=(const buffer&) = delete;
    ~buffer() { release(); }

    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

private:
    void release() noexcept {
        if (data_) Backend::deallocate(data_, size_ * sizeof(T));
        data_ = nullptr;
        size_ = 0;
    }
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

STARBUCKS_NAMESPACE_END
