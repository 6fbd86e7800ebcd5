// SPDX-License-Identifier: Apache-2.0
// matryoshka::multi_target: weighted per-pair loss terms that are reported one by one under
// stable names (`loss_n2_d32`, `kl_n2_d32`) and seed ONE backward pass together.
#pragma once

#include <cmath>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../autograd/autograd.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "../ops/transfer.hpp"
#include "pairs.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace matryoshka {

/// One named term of a multi-target loss: its value (as computed, before weighting) and weight.
struct term_report {
    std::string name;
    double value = 0;
    double weight = 1;
};

/// @brief The sum of weighted scalar loss terms, each kept by name.
///
/// Represents: L = Σ weight_i · loss_i over the terms added in order. The encoder ran once; each
/// term only added pooling, a prefix slice and its loss, so `backward` runs the tape once with
/// every term as a seed (the gradient equals the sum of the per-term gradients).
/// Guarantees: names are unique; `total()` sums in the order terms were added (deterministic).
/// Values are read when first asked for, all at once: on a device backend one transfer after
/// the step's work is queued, not one synchronisation per term in the middle of the forward.
template <class T, class B>
class multi_target {
public:
    /// @brief Adds `weight` · `loss` under `name` (e.g. `"loss_" + label(pair)`).
    /// @throws shape_error when loss is not a single value; usage_error on a repeated name.
    template <class E>
    void add(std::string name, const autograd::var<T, E, B>& loss, double weight = 1.0) {
        if (loss.size() != 1)
            throw shape_error("starbucks::matryoshka::multi_target", "term \"" + name + "\" is " + to_string(loss.dims()) +
                                                                         "; a loss term is a single value");
        for (const auto& r : reports_)
            if (r.name == name) throw usage_error("starbucks::matryoshka::multi_target", "term \"" + name + "\" was added twice");
        reports_.push_back({std::move(name), 0.0, weight});
        read_ = false;
        terms_.push_back(loss * weight);
        if constexpr (std::is_same_v<E, extents<>>) scalars_.push_back(loss);
        else scalars_.push_back(autograd::reshape(loss, extents<>{}));
    }

    /// @brief Σ weight · loss as one differentiable scalar (recorded on the active tape).
    /// Training seeds the terms directly (`backward`); this form is for gradcheck and for users
    /// who compose the total further. Its gradient equals the seeded backward's.
    /// @throws usage_error when there is no term.
    autograd::var<T, extents<>, B> sum() const {
        if (scalars_.empty()) throw usage_error("starbucks::matryoshka::multi_target", "sum of no loss terms");
        auto total = autograd::scale(scalars_[0], static_cast<T>(reports_[0].weight));
        for (std::size_t i = 1; i < scalars_.size(); ++i)
            total = autograd::add(total, autograd::scale(scalars_[i], static_cast<T>(reports_[i].weight)));
        return total;
    }

    /// Σ weight · value, in the order the terms were added.
    double total() const {
        double s = 0;
        for (const auto& r : terms()) s += r.weight * r.value;
        return s;
    }
    /// The first term whose value is NaN or infinite, or null.
    const term_report* first_non_finite() const {
        for (const auto& r : terms())
            if (!std::isfinite(r.value)) return &r;
        return nullptr;
    }
    /// The terms with their values (read from the backend on first use).
    const std::vector<term_report>& terms() const {
        read_values();
        return reports_;
    }
    /// @brief Replaces the reported values, in term order (data parallelism reports the mean
    /// over ranks); the tape seeds are not touched. @throws shape_error when the count differs.
    void set_values(std::span<const double> values) {
        if (values.size() != reports_.size())
            throw shape_error("starbucks::matryoshka::multi_target", std::to_string(values.size()) + " values for " + std::to_string(reports_.size()) + " terms");
        for (std::size_t i = 0; i < values.size(); ++i) reports_[i].value = values[i];
        read_ = true;
    }
    /// The tape seeds: one per term, with its weight.
    const std::vector<autograd::loss_term>& loss_terms() const noexcept { return terms_; }
    std::size_t size() const noexcept { return reports_.size(); }

    /// @brief One backward pass seeded by every term. @throws usage_error when there is no term.
    void backward(autograd::tape& tape) const {
        if (terms_.empty()) throw usage_error("starbucks::matryoshka::multi_target", "backward with no loss terms");
        tape.backward(terms_);
    }

private:
    /// Fills reports_' values from the scalars: directly on a host backend; on a device, each
    /// gathered into one small buffer (queued copies) and that buffer downloaded once.
    void read_values() const {
        if (read_) return;
        if constexpr (B::host_accessible) {
            for (std::size_t i = 0; i < scalars_.size(); ++i) reports_[i].value = static_cast<double>(item(scalars_[i].value()));
        } else if (!scalars_.empty()) {
            tensor<T, dextents<1>, B> gathered(dextents<1>(scalars_.size()), uninitialized);
            const layout one = layout::contiguous(shape{1});
            for (std::size_t i = 0; i < scalars_.size(); ++i)
                B::copy(B::default_context(), backend::strided<T>{gathered.data() + i, one}, backend::strided<const T>{scalars_[i].value().data(), one});
            const auto values = host_copy(as_const_view(gathered));
            for (std::size_t i = 0; i < scalars_.size(); ++i) reports_[i].value = static_cast<double>(values.data()[i]);
        }
        read_ = true;
    }

    mutable std::vector<term_report> reports_;
    mutable bool read_ = true;
    std::vector<autograd::loss_term> terms_;
    std::vector<autograd::var<T, extents<>, B>> scalars_;
};

} // namespace matryoshka
STARBUCKS_NAMESPACE_END
