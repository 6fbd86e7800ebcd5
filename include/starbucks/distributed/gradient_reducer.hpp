// SPDX-License-Identifier: Apache-2.0
// distributed::gradient_reducer: the gradient sum over ranks, overlapped with the backward pass.
// Attached to the tape for a step's last backward, it starts summing each bucket of parameter
// gradients as soon as the tape reports them final, and advances the sums between rules.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../autograd/gradient_listener.hpp"
#include "../autograd/var_state.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "communicator.hpp"
#include "data_parallel.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace distributed {

/// How much of one step's gradient sum overlapped the backward pass, and what it cost.
struct overlap_report {
    std::size_t buckets = 0;
    std::size_t elements = 0;
    std::size_t elements_started_early = 0; ///< in buckets started while a rule was still to run
    double during_s = 0; ///< spent during backward: the start-up check (waiting for the other ranks included) and polling between rules
    double finish_s = 0;  ///< spent in finish(): what the sum added after backward, waiting for other ranks included
};

/// @brief Sums the gradients of `params` over ranks, bucket by bucket as backward finishes them.
///
/// Buckets follow all_reduce_gradients' rule (a gradient of `in_place_elements` or more alone
/// and in place, smaller ones packed up to `bucket_elements`), taken in reverse parameter order
/// (output side first, as backward finishes them) and started strictly in that order, so every
/// rank starts the same sums in the same order whatever its timing. Use: `tape.listen(&r)`
/// before the forward of a step's last micro-batch, then `finish()` after its backward. A step
/// whose backward never reported (none ran while attached) falls back to all_reduce_gradients.
/// Every rank must run the same graph: checked when backward begins (an internal_error before
/// anything is sent) and again on the gradients that resulted.
template <class T, class B>
class gradient_reducer final : public autograd::gradient_listener {
public:
    gradient_reducer(communicator& comm, std::vector<std::shared_ptr<autograd::var_state<T, B>>> params,
                     std::size_t bucket_elements = std::size_t{1} << 20, std::size_t in_place_elements = std::size_t{1} << 16)
        : comm_(comm), params_(std::move(params)), bucket_elements_(bucket_elements), in_place_elements_(in_place_elements) {
        detail::refuse_device_world<B>(comm, "starbucks::distributed::gradient_reducer");
        for (const auto& p : params_) leaves_.push_back(p.get());
    }

    std::span<autograd::state_base* const> leaves() const override { return leaves_; }

    void begin(const std::vector<bool>& used) override {
        if (begun_)
            throw internal_error(where, "a second backward pass reported in one step; attach the reducer to the step's last backward only");
        begun_ = true;
        const auto t0 = clock::now();
        // What will have a gradient: what this pass may reach, and what earlier micro-batches filled.
        expected_.assign(params_.size(), false);
        for (std::size_t i = 0; i < params_.size(); ++i) expected_[i] = used[i] || params_[i]->has_grad();
        detail::check_same_parameters(comm_, params_, [&](std::size_t i) { return bool(expected_[i]); }, where);
        plan();
        during_ = clock::now() - t0;
    }

    void ready(std::size_t i) override {
        if (!expected_[i]) return;
        ++buckets_[bucket_of_[i]].ready;
        while (next_start_ < buckets_.size() && buckets_[next_start_].ready == buckets_[next_start_].members.size()) start(buckets_[next_start_++]);
    }

    void after_rule() override {
        ++rules_;
        if (next_start_ > 0) {
            const auto t0 = clock::now();
            comm_.progress();
            during_ += clock::now() - t0;
        }
    }

    /// @brief Completes the step's sum: waits for the started buckets and unpacks them (or sums
    /// everything now when no backward reported), then checks the gradients that resulted.
    /// @throws internal_error when ranks ran different graphs; io_error from the transport.
    void finish() {
        const auto t0 = clock::now();
        if (!begun_) {
            all_reduce_gradients(comm_, params_, bucket_elements_, in_place_elements_);
            last_ = {};
            last_.finish_s = std::chrono::duration<double>(clock::now() - t0).count();
            return;
        }
        begun_ = false;
        for (; next_start_ < buckets_.size(); ++next_start_) start(buckets_[next_start_]);
        comm_.wait_all();
        last_ = {};
        last_.during_s = std::chrono::duration<double>(during_).count();
        for (auto& b : buckets_) {
            last_.buckets += 1;
            last_.elements += b.elements;
            if (b.started_at + 1 < rules_) last_.elements_started_early += b.elements;
            if (!b.in_place) unpack(b);
        }
        // A parameter one rank reached and another did not would have been summed with zeros.
        detail::check_same_parameters(comm_, params_, [&](std::size_t i) { return params_[i]->has_grad(); }, where);
        last_.finish_s = std::chrono::duration<double>(clock::now() - t0).count();
    }

    /// The overlap of the last finished step (zeros after a fallback).
    const overlap_report& last_report() const noexcept { return last_; }

private:
    static constexpr const char* where = "starbucks::distributed::gradient_reducer";
    using clock = std::chrono::steady_clock;

    struct bucket {
        std::vector<std::size_t> members;
        std::size_t elements = 0;
        std::size_t ready = 0;
        bool in_place = false;      // one large gradient, summed where it lies
        std::size_t started_at = 0; // rules run when it started
        std::vector<T> packed;      // what is summed when not in place (or zeros for a missing gradient)
    };

    void plan() {
        buckets_.clear();
        bucket_of_.assign(params_.size(), 0);
        next_start_ = 0;
        rules_ = 0;

        bucket small;
        const auto close_small = [&] {
            if (small.members.empty()) return;
            buckets_.push_back(std::move(small));
            small = bucket{};
        };
        for (std::size_t i = params_.size(); i-- > 0;) {
            if (!expected_[i]) continue;
            const std::size_t n = params_[i]->lay().size();
            if (n >= in_place_elements_) {
                bucket_of_[i] = buckets_.size();
                buckets_.push_back(bucket{{i}, n, 0, true, 0, {}});
                continue;
            }
            small.members.push_back(i);
            small.elements += n;
            if (small.elements >= bucket_elements_) {
                for (std::size_t m : small.members) bucket_of_[m] = buckets_.size();
                close_small();
            }
        }
        for (std::size_t m : small.members) bucket_of_[m] = buckets_.size();
        close_small();
    }

    /// Starts summing bucket `b`. A member without a gradient here (its rule never received
    /// one) sends zeros, so every rank's message has the planned size.
    void start(bucket& b) {
        b.started_at = rules_;
        const auto& first = params_[b.members.front()];
        if (b.in_place) {
            if (first->has_grad()) {
                comm_.start_all_reduce_sum(std::span<T>(first->grad_data(), b.elements));
            } else {
                b.packed.assign(b.elements, T(0));
                comm_.start_all_reduce_sum(std::span<T>(b.packed));
            }
            return;
        }
        b.packed.resize(b.elements);
        std::size_t at = 0;
        for (std::size_t m : b.members) {
            const auto& p = params_[m];
            const std::size_t n = p->lay().size();
            if (p->has_grad()) std::copy_n(p->grad_data(), n, b.packed.data() + at);
            else std::fill_n(b.packed.data() + at, n, T(0));
            at += n;
        }
        comm_.start_all_reduce_sum(std::span<T>(b.packed));
    }

    void unpack(const bucket& b) {
        std::size_t at = 0;
        for (std::size_t m : b.members) {
            const auto& p = params_[m];
            const std::size_t n = p->lay().size();
            if (p->has_grad()) std::copy_n(b.packed.data() + at, n, p->grad_data());
            at += n;
        }
    }

    communicator& comm_;
    std::vector<std::shared_ptr<autograd::var_state<T, B>>> params_;
    std::vector<autograd::state_base*> leaves_;
    std::size_t bucket_elements_, in_place_elements_;
    bool begun_ = false;
    std::vector<bool> expected_;
    std::vector<bucket> buckets_;
    std::vector<std::size_t> bucket_of_;
    std::size_t next_start_ = 0;
    std::size_t rules_ = 0;
    clock::duration during_{};
    overlap_report last_;
};

} // namespace distributed
STARBUCKS_NAMESPACE_END
