// SPDX-License-Identifier: Apache-2.0
// distributed::gradient_reducer: the gradient sum over ranks, overlapped with the backward pass.
// Attached to the tape for a step's last backward, it starts summing each bucket of parameter
// gradients (a range of their gradient_arena) as soon as the tape reports them final, and
// advances the sums between rules.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../autograd/gradient_arena.hpp"
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

/// @brief Sums the gradients held by `arena` over ranks, bucket by bucket as backward finishes them.
///
/// A bucket is a range of the arena: consecutive gradients, in its order (the last parameter
/// first, as backward finishes them), closed at the gradient that brings it to `bucket_elements`.
/// Each is summed where it lies, with no packing copy. Buckets start strictly in order, so every
/// rank starts the same sums in the same order whatever its timing. Use: `tape.listen(&r)`
/// before the forward of a step's last micro-batch, then `finish()` after its backward. A step
/// whose backward never reported (none ran while attached) sums every bucket in finish().
/// Every rank must run the same graph: checked when backward begins (an internal_error before
/// anything is sent) and again on the gradients that resulted. On a device backend the buckets
/// go to the communicator's device collectives, queued on the stream as backward fills them.
template <class T, class B>
class gradient_reducer final : public autograd::gradient_listener {
public:
    gradient_reducer(communicator& comm, autograd::gradient_arena<T, B>& arena, std::size_t bucket_elements = std::size_t{1} << 20)
        : comm_(comm), device_(detail::device_collectives_for<B>(comm, where)), arena_(arena), bucket_elements_(bucket_elements) {
        for (const auto& p : arena_.params()) leaves_.push_back(p.get());
    }

    std::span<autograd::state_base* const> leaves() const override { return leaves_; }

    void begin(const std::vector<bool>& used) override {
        if (begun_)
            throw internal_error(where, "a second backward pass reported in one step; attach the reducer to the step's last backward only");
        begun_ = true;
        const auto t0 = clock::now();
        // What will have a gradient: what this pass may reach, and what earlier micro-batches filled.
        plan([&](std::size_t i) { return used[i] || params()[i]->has_grad(); });
        during_ = clock::now() - t0;
        start_ready();
    }

    void ready(std::size_t i) override {
        if (!expected_[i]) return;
        ++buckets_[bucket_of_[i]].ready;
        start_ready();
    }

    void after_rule() override {
        ++rules_;
        if (next_start_ > 0 && !device_) { // device collectives run on the stream by themselves
            const auto t0 = clock::now();
            comm_.progress();
            during_ += clock::now() - t0;
        }
    }

    /// @brief Completes the step's sum: starts what is left (everything when no backward
    /// reported), waits for it, and checks the gradients that resulted.
    /// @throws internal_error when ranks ran different graphs; io_error from the transport.
    void finish() {
        const auto t0 = clock::now();
        const bool heard = begun_;
        if (!heard) {
            during_ = {};
            plan([&](std::size_t i) { return params()[i]->has_grad(); });
        }
        begun_ = false;
        for (; next_start_ < buckets_.size(); ++next_start_) start(buckets_[next_start_]);
        if (device_) device_->synchronize();
        else comm_.wait_all();
        last_ = {};
        if (heard) last_.during_s = std::chrono::duration<double>(during_).count();
        for (const auto& b : buckets_) {
            last_.buckets += 1;
            last_.elements += b.end - b.begin;
            if (heard && b.started_at + 1 < rules_) last_.elements_started_early += b.end - b.begin;
        }
        // A parameter one rank reached and another did not would have been summed with zeros.
        detail::check_same_parameters(comm_, params(), [&](std::size_t i) { return params()[i]->has_grad(); }, where);
        last_.finish_s = std::chrono::duration<double>(clock::now() - t0).count();
    }

    /// The overlap of the last finished step (during_s and elements_started_early are zero when no backward reported).
    const overlap_report& last_report() const noexcept { return last_; }

private:
    static constexpr const char* where = "starbucks::distributed::gradient_reducer";
    using clock = std::chrono::steady_clock;

    struct bucket {
        std::vector<std::size_t> members; // parameter indices
        std::size_t begin = 0, end = 0;   // the arena's elements [begin, end)
        std::size_t needed = 0, ready = 0; // expected members, and those reported final
        std::size_t started_at = 0;        // rules run when it started
    };

    const std::vector<std::shared_ptr<autograd::var_state<T, B>>>& params() const noexcept { return arena_.params(); }

    /// Checks that every rank expects the same gradients, then cuts the arena into buckets.
    template <class Expected>
    void plan(Expected&& expected) {
        expected_.assign(params().size(), false);
        for (std::size_t i = 0; i < params().size(); ++i) expected_[i] = expected(i);
        detail::check_same_parameters(comm_, params(), [&](std::size_t i) { return bool(expected_[i]); }, where);
        buckets_.clear();
        bucket_of_.assign(params().size(), 0);
        next_start_ = 0;
        rules_ = 0;
        bucket b;
        for (const auto& s : arena_.slots()) {
            if (b.members.empty()) b.begin = s.offset;
            b.members.push_back(s.param);
            b.end = s.offset + s.size;
            bucket_of_[s.param] = buckets_.size();
            if (expected_[s.param]) ++b.needed;
            if (b.end - b.begin >= bucket_elements_) buckets_.push_back(std::exchange(b, bucket{}));
        }
        if (!b.members.empty()) buckets_.push_back(std::move(b));
    }

    void start_ready() {
        while (next_start_ < buckets_.size() && buckets_[next_start_].ready == buckets_[next_start_].needed) start(buckets_[next_start_++]);
    }

    /// Starts summing bucket `b` where it lies. A member without a gradient here (not used, or
    /// its rule never received one) sends zeros, so every rank's message has the planned size.
    void start(bucket& b) {
        b.started_at = rules_;
        for (std::size_t m : b.members)
            if (!params()[m]->has_grad()) {
                const auto& s = arena_.slot_of(m);
                if constexpr (B::host_accessible) std::fill_n(arena_.data() + s.offset, s.size, T(0));
                else B::fill(B::default_context(), s.size, T(0), arena_.data() + s.offset);
            }
        if (device_) device_->all_reduce_sum(arena_.data() + b.begin, b.end - b.begin);
        else comm_.start_all_reduce_sum(std::span<T>(arena_.data() + b.begin, b.end - b.begin));
    }

    communicator& comm_;
    device_collectives* device_; // null: the communicator's own (host) sums
    autograd::gradient_arena<T, B>& arena_;
    std::vector<autograd::state_base*> leaves_;
    std::size_t bucket_elements_;
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
