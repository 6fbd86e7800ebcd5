// SPDX-License-Identifier: Apache-2.0
// autograd::gradient_arena: the gradients of a list of parameters in one contiguous allocation,
// in reverse parameter order (the order backward finishes them). A data-parallel sum sends
// consecutive ranges of it where they lie, with no packing copy (on a GPU, one collective per
// range), and the whole-gradient passes (norm, clipping, zeroing) make a few calls over long
// ranges instead of one per parameter (on a GPU, one host synchronisation instead of hundreds).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "../config.hpp"
#include "../core/error.hpp"
#include "var_state.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace autograd {

/// @brief Binds the gradients of `params` to slices of one allocation (see var_state::bind_grad).
///
/// Each slice starts on a 64-byte boundary; the gaps between slices are zero and stay zero, so
/// a range of the arena may be summed, scaled or all-reduced across slices. Semantics do not
/// change: a parameter still has no gradient until a backward pass gives it one, and the slice
/// of a parameter without a gradient is never read as one.
template <class T, class B>
class gradient_arena {
public:
    /// Where parameter `param` (its index in the list given) keeps its gradient.
    struct slot {
        std::size_t param = 0, offset = 0, size = 0;
    };

    /// @throws usage_error when a parameter is listed twice or is null.
    explicit gradient_arena(std::vector<std::shared_ptr<var_state<T, B>>> params) : params_(std::move(params)) {
        constexpr std::size_t align = 64 / sizeof(T) > 0 ? 64 / sizeof(T) : 1;
        std::unordered_map<const var_state<T, B>*, std::size_t> seen;
        std::size_t end = 0;
        for (std::size_t i = params_.size(); i-- > 0;) {
            if (!params_[i]) throw usage_error(where, "parameter " + std::to_string(i) + " is null");
            if (!seen.emplace(params_[i].get(), i).second)
                throw usage_error(where, "parameter " + std::to_string(i) + " is listed twice (as " + std::to_string(seen[params_[i].get()]) +
                                             "); its gradient would be counted twice");
            const std::size_t offset = (end + align - 1) / align * align;
            slots_.push_back(slot{i, offset, params_[i]->lay().size()});
            end = offset + slots_.back().size;
        }
        storage_ = std::make_shared<buffer<T, B>>(end);
        B::fill(B::default_context(), end, T(0), storage_->data());
        slot_of_.assign(params_.size(), 0);
        for (std::size_t k = 0; k < slots_.size(); ++k) {
            slot_of_[slots_[k].param] = k;
            params_[slots_[k].param]->bind_grad(storage_, slots_[k].offset);
        }
    }

    const std::vector<std::shared_ptr<var_state<T, B>>>& params() const noexcept { return params_; }
    /// Slots in arena order: the last parameter first.
    std::span<const slot> slots() const noexcept { return slots_; }
    const slot& slot_of(std::size_t param) const { return slots_.at(slot_of_.at(param)); }
    T* data() noexcept { return storage_->data(); }
    std::size_t size() const noexcept { return storage_->size(); }

    /// @brief Calls f(first, n) for every maximal run of consecutive slots whose parameters have
    /// a gradient (the zero gaps between them included).
    template <class F>
    void for_each_filled_range(F&& f) {
        std::size_t k = 0;
        while (k < slots_.size()) {
            if (!params_[slots_[k].param]->has_grad()) {
                ++k;
                continue;
            }
            const std::size_t begin = slots_[k].offset;
            std::size_t end = begin;
            for (; k < slots_.size() && params_[slots_[k].param]->has_grad(); ++k) end = slots_[k].offset + slots_[k].size;
            f(storage_->data() + begin, end - begin);
        }
    }

    /// The sum of the squares of every gradient element, in double (NaN or inf when one is).
    double squared_norm() {
        double total = 0;
        for_each_filled_range([&](const T* x, std::size_t n) { total += B::squared_norm(B::default_context(), n, x); });
        return total;
    }
    /// Multiplies every gradient by `factor`.
    void scale(T factor) {
        for_each_filled_range([&](T* x, std::size_t n) { B::unary(B::default_context(), backend::unary_op::scale, n, x, x, factor); });
    }
    /// Zeroes every gradient (they stay allocated, as var_state::zero_grad leaves them).
    void zero_grads() {
        for_each_filled_range([&](T* x, std::size_t n) { B::fill(B::default_context(), n, T(0), x); });
    }

private:
    static constexpr const char* where = "starbucks::autograd::gradient_arena";
    std::vector<std::shared_ptr<var_state<T, B>>> params_;
    std::vector<slot> slots_;
    std::vector<std::size_t> slot_of_;
    std::shared_ptr<buffer<T, B>> storage_;
};

} // namespace autograd
STARBUCKS_NAMESPACE_END
