// SPDX-License-Identifier: Apache-2.0
// autograd::var_state: what stands behind a variable: its (possibly shared) storage, layout and gradient.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "../core/error.hpp"
#include "../ops/copy.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// @brief What the tape knows of a value without knowing its type.
class state_base {
public:
    virtual ~state_base() = default;
    /// Drops the gradient (an intermediate's, before each backward pass).
    virtual void reset_grad() noexcept = 0;
    /// grad += w; only scalars (a loss) can be seeded.
    virtual void seed_grad(double w) = 0;
    virtual shape dims() const noexcept = 0;

    bool requires_grad = false;
    /// Where this value was first an input of a recorded op: node `first_use` of the tape pass
    /// `use_pass` (written only while a tape tracks uses, see tape::listen).
    std::uint64_t use_pass = 0;
    std::size_t first_use = 0;
};

/// @brief A value of element type T on backend B: storage shared with the views taken of it,
/// an offset and layout into that storage, and a contiguous gradient allocated on first use
/// (its own allocation, or a slice of a gradient_arena once bound to one).
template <class T, class B>
class var_state final : public state_base {
public:
    var_state(std::shared_ptr<buffer<T, B>> storage, std::ptrdiff_t offset, const layout& lay, bool needs_grad)
        : storage_(std::move(storage)), offset_(offset), lay_(lay) {
        requires_grad = needs_grad;
    }

    /// A fresh value owning a contiguous tensor's elements.
    template <class E>
    static std::shared_ptr<var_state> from_tensor(tensor<T, E, B>&& t, bool needs_grad) {
        auto lay = layout::contiguous(t.dims());
        // The tensor's allocation moves into shared storage without copying elements.
        auto buf = std::make_shared<buffer<T, B>>(std::move(t).release_buffer());
        return std::make_shared<var_state>(std::move(buf), 0, lay, needs_grad);
    }

    const T* data() const noexcept { return storage_->data() + offset_; }
    T* mutable_data() noexcept { return storage_->data() + offset_; }
    const layout& lay() const noexcept { return lay_; }
    shape dims() const noexcept override { return lay_.dims; }
    const std::shared_ptr<buffer<T, B>>& storage() const noexcept { return storage_; }
    std::ptrdiff_t offset() const noexcept { return offset_; }

    template <class E>
    tensor_view<const T, E, B> view(const E& e) const {
        typename tensor_view<const T, E, B>::strides_type st{};
        for (std::size_t i = 0; i < E::rank(); ++i) st[i] = lay_.strides[i];
        return tensor_view<const T, E, B>(data(), e, st);
    }
    template <class E>
    tensor_view<T, E, B> mutable_view(const E& e) {
        typename tensor_view<T, E, B>::strides_type st{};
        for (std::size_t i = 0; i < E::rank(); ++i) st[i] = lay_.strides[i];
        return tensor_view<T, E, B>(mutable_data(), e, st);
    }

    bool has_grad() const noexcept { return allocated_; }
    /// The gradient, contiguous in this value's shape; allocated and zeroed on first use.
    template <class E>
    tensor_view<T, E, B> grad(const E& e) {
        ensure_grad();
        return tensor_view<T, E, B>(grad_slot(), e);
    }
    T* grad_data() {
        ensure_grad();
        return grad_slot();
    }
    void reset_grad() noexcept override {
        if (!home_) grad_ = buffer<T, B>(); // a bound gradient keeps its slice of the arena
        allocated_ = false;
    }
    void zero_grad() {
        if (allocated_) B::fill(B::default_context(), lay_.size(), T(0), grad_slot());
    }

    /// @brief Moves the gradient to `home`, elements [offset, offset + lay().size()), for good:
    /// a gradient_arena keeps many parameters' gradients in one allocation. A gradient already
    /// there is copied over; otherwise nothing changes (it is still zeroed on first use).
    /// @throws usage_error when the slice does not fit in `home`.
    void bind_grad(std::shared_ptr<buffer<T, B>> home, std::size_t offset) {
        if (!home || offset > home->size() || home->size() - offset < lay_.size())
            throw usage_error("starbucks::autograd::var_state::bind_grad", "the slice does not fit the gradient's home");
        if (allocated_) {
            const layout whole = layout::contiguous(lay_.dims);
            B::copy(B::default_context(), backend::strided<T>{home->data() + offset, whole}, backend::strided<const T>{grad_slot(), whole});
        }
        home_ = std::move(home);
        home_offset_ = offset;
        grad_ = buffer<T, B>();
    }
    /// Whether the gradient lives in an arena (see bind_grad).
    bool grad_bound() const noexcept { return home_ != nullptr; }
    void seed_grad(double w) override {
        if (lay_.size() != 1)
            throw shape_error("starbucks::autograd::tape::backward", "a loss must hold one element, not " + to_string(lay_.dims));
        ensure_grad();
        // The weight goes through the backend: grad_ may live in device memory.
        buffer<T, B> weight(1);
        B::fill(B::default_context(), 1, T(w), weight.data());
        B::accumulate(B::default_context(), backend::strided<T>{grad_.data(), layout::contiguous(lay_.dims)},
                      backend::strided<const T>{weight.data(), layout::contiguous(lay_.dims)}, T(1));
    }

private:
    void ensure_grad() {
        if (allocated_) return;
        if (!home_) grad_ = buffer<T, B>(lay_.size());
        B::fill(B::default_context(), lay_.size(), T(0), grad_slot());
        allocated_ = true;
    }
    T* grad_slot() noexcept { return home_ ? home_->data() + home_offset_ : grad_.data(); }

    std::shared_ptr<buffer<T, B>> storage_;
    std::ptrdiff_t offset_ = 0;
    layout lay_;
    buffer<T, B> grad_;
    std::shared_ptr<buffer<T, B>> home_; // the arena holding the gradient, when bound
    std::size_t home_offset_ = 0;
    bool allocated_ = false;
};

} // namespace autograd
STARBUCKS_NAMESPACE_END
