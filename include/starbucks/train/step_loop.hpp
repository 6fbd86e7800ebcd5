// SPDX-License-Identifier: Apache-2.0
// train::run_steps: the optimizer-step loop fine-tuning and pre-training share. Micro-batches
// accumulate into one step, the gradient is clipped, a non-finite loss or gradient stops the
// run (or skips the step), AdamW follows the schedule, and checkpoints are written atomically.
#pragma once

#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../autograd/autograd.hpp"
#include "../autograd/gradient_arena.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../distributed/communicator.hpp"
#include "../distributed/data_parallel.hpp"
#include "../distributed/gradient_reducer.hpp"
#include "../matryoshka/multi_target.hpp"
#include "../nn/module.hpp"
#include "../optim/adamw.hpp"
#include "../optim/clip.hpp"
#include "../optim/schedule.hpp"
#include "../ops/matmul_precision.hpp"
#include "checkpoint.hpp"
#include "interrupt.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace train {

/// What one optimizer step did, for progress bars and metrics.
struct step_report {
    std::uint64_t step = 0;  ///< 1-based: steps completed including this one
    std::uint64_t total_steps = 0;
    std::uint64_t epoch = 0;
    double lr = 0;
    double loss = 0;         ///< weighted total, averaged over micro-batches
    double grad_norm = 0;    ///< before clipping
    bool skipped = false;    ///< non-finite and skipped (no update)
    std::vector<matryoshka::term_report> terms; ///< averaged over micro-batches
    /// Several ranks: seconds the gradient sum cost this step after backward and during it (its
    /// start-up check and polling), waiting for the other ranks included; zero on one process.
    double gradient_sum_s = 0, gradient_sum_during_backward_s = 0;
};

/// True for a parameter AdamW should not decay: biases and LayerNorm gains/shifts.
inline bool exempt_from_decay(std::string_view name) {
    return name.ends_with(".bias") || name.find("LayerNorm") != std::string_view::npos;
}

/// The example order of an epoch: a Fisher-Yates shuffle of 0..n-1 from (seed, epoch).
inline std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::uint64_t epoch) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    const rng_stream shuffle{seed, 0x5eed0000ull + epoch};
    for (std::size_t i = order.size(); i-- > 1;) std::swap(order[i], order[shuffle.bits(i) % (i + 1)]);
    return order;
}

/// The loop's settings (the trainers' options map onto them).
struct step_settings {
    std::uint64_t total_steps = 0;
    std::size_t accumulation = 1;
    double lr = 5e-5;
    double warmup_ratio = 0.1;
    optim::schedule_kind schedule = optim::schedule_kind::linear;
    double max_grad_norm = 1.0;  ///< 0 disables clipping
    bool skip_non_finite = false;
    std::size_t save_steps = 0;
    std::size_t keep_checkpoints = 2;
    /// Data parallelism: the ranks whose gradients are summed every step (null: this process
    /// alone). Only rank 0 passes a checkpoint folder; every rank stops at the same step.
    distributed::communicator* comm = nullptr;
    /// Start summing gradient buckets during the last backward of a step (false: after it).
    bool overlap_gradient_sum = true;
    /// The precision of the GEMMs of every forward and backward (the optimizer is always f32).
    matmul_precision precision = matmul_precision::f32;
};

/// Registers every parameter with `optimizer` (biases and LayerNorm without decay) and returns their states.
template <class T, class B>
std::vector<std::shared_ptr<autograd::var_state<T, B>>> register_parameters(const nn::parameter_list<T, B>& params, optim::adamw<T, B>& optimizer) {
    std::vector<std::shared_ptr<autograd::var_state<T, B>>> states;
    for (const auto& entry : params) // not a structured binding: clang 14 cannot capture one in the lambda
        std::visit([&](const auto& v) {
            optimizer.add(v, !exempt_from_decay(entry.first));
            states.push_back(v.state());
        }, entry.second);
    return states;
}

/// @brief Runs optimizer steps from `state.step` to `s.total_steps`.
///
/// `micro_batch(tape, weight)` runs the forward and backward of the next micro-batch (seeding
/// its loss with `weight`) and returns its multi-target; with several ranks, the tape's listener
/// (the gradient sum) is attached for the last micro-batch, and a micro-batch that runs more
/// than one backward pass must detach it for all but the last; `forwards()` reads the model's dropout
/// counter after a step, which `state.encoder_forwards` records. `on_step` sees every step;
/// checkpoints go under `checkpoints` (when not empty) every save_steps and at the end, with
/// `write_extra(dir)` adding files. After request_stop() the loop finishes the step, commits a
/// checkpoint and throws train::interrupted. @throws numeric_error naming the step and the term
/// when a loss or gradient is not finite (unless skipping); io_error from checkpoints (earlier
/// ones stay); interrupted.
template <class T, class B, class MicroBatch, class Forwards>
void run_steps(train_state& state, const step_settings& s, optim::adamw<T, B>& optimizer, const nn::parameter_list<T, B>& params,
               const std::vector<std::shared_ptr<autograd::var_state<T, B>>>& states, MicroBatch&& micro_batch, Forwards&& forwards,
               const std::function<void(const step_report&)>& on_step, const std::filesystem::path& checkpoints,
               const std::function<void(const std::filesystem::path&)>& write_extra) {
    const optim::schedule lr{s.lr, static_cast<std::size_t>(std::ceil(s.warmup_ratio * double(s.total_steps))), s.total_steps, s.schedule};
    if (!checkpoints.empty()) remove_leftovers(checkpoints); // of a save killed before this run resumed
    autograd::tape tape;
    tape.keep_intermediate_grads(false); // nothing here reads them: free each once it is used
    const double w = 1.0 / double(s.accumulation);
    // One allocation holds every gradient: clipping and zeroing make a few calls, not one per parameter.
    autograd::gradient_arena<T, B> gradients(states);
    // Data parallel: the gradient sum starts bucket by bucket during the last backward of a step.
    std::optional<distributed::gradient_reducer<T, B>> reducer;
    if (s.comm && !s.comm->is_single()) reducer.emplace(*s.comm, gradients);
    const bool overlap = reducer && s.overlap_gradient_sum;
    while (state.step < s.total_steps) {
        step_report report{state.step + 1, s.total_steps, state.epoch, lr(state.step), 0, 0, false, {}};
        std::optional<std::string> bad;
        for (std::size_t micro = 0; micro < s.accumulation; ++micro) {
            tape.listen(overlap && micro + 1 == s.accumulation ? &*reducer : nullptr);
            const matryoshka::multi_target<T, B> total = [&] {
                matmul_precision_scope products(s.precision);
                return micro_batch(tape, w);
            }();
            tape.listen(nullptr);
            report.loss += w * total.total();
            if (micro == 0) {
                report.terms = total.terms();
                for (auto& t : report.terms) t.value *= w;
            } else {
                for (std::size_t i = 0; i < report.terms.size() && i < total.terms().size(); ++i) report.terms[i].value += w * total.terms()[i].value;
            }
            if (!bad)
                if (const auto* t = total.first_non_finite()) bad = "loss term " + t->name + " is " + std::to_string(t->value);
        }
        if (reducer) {
            autograd::profiler::section timed("all_reduce_gradients");
            reducer->finish();
            report.gradient_sum_s = reducer->last_report().finish_s;
            report.gradient_sum_during_backward_s = reducer->last_report().during_s;
        }
        {
            autograd::profiler::section timed("clip_grad_norm");
            report.grad_norm = s.max_grad_norm > 0 ? optim::clip_grad_norm(gradients, s.max_grad_norm) : optim::grad_norm(gradients);
        }
        if (!bad && !std::isfinite(report.grad_norm)) bad = "the gradient norm is " + std::to_string(report.grad_norm);
        if (bad) {
            if (!s.skip_non_finite)
                throw numeric_error("step " + std::to_string(state.step + 1), "", *bad + "; nothing of this step was saved (skip such steps with --skip-non-finite)");
            report.skipped = true;
            ++state.skipped_steps;
        } else {
            autograd::profiler::section timed("optimizer");
            optimizer.step(report.lr);
        }
        {
            autograd::profiler::section timed("zero_grad");
            gradients.zero_grads();
        }
        ++state.step;
        state.encoder_forwards = forwards();
        if (on_step) on_step(report);
        const bool last = state.step == s.total_steps;
        int stop = stop_requested();
        if (s.comm && !s.comm->is_single()) // a signal may reach the ranks at different steps: all stop at the first
            for (const int r : distributed::all_gather_one(*s.comm, stop)) stop = stop ? stop : r;
        std::filesystem::path saved;
        const bool save = (s.save_steps && state.step % s.save_steps == 0) || last || stop;
        if (save && s.comm && !s.comm->is_single()) {
            // Rank 0 writes; the others learn whether it could, so no rank trains on past a lost checkpoint.
            std::exception_ptr failed;
            if (!checkpoints.empty()) try {
                    saved = save_checkpoint(checkpoints, state, params, optimizer, write_extra, s.keep_checkpoints);
                } catch (...) {
                    failed = std::current_exception();
                }
            const auto ok = distributed::all_gather_one(*s.comm, static_cast<int>(!failed));
            if (failed) std::rethrow_exception(failed);
            for (std::size_t r = 0; r < ok.size(); ++r)
                if (!ok[r]) throw io_error("starbucks::train::run_steps", "rank " + std::to_string(r) + " could not write the checkpoint of step " +
                                                                            std::to_string(state.step) + " (see its error); stopping every rank");
        } else if (save && !checkpoints.empty()) {
            saved = save_checkpoint(checkpoints, state, params, optimizer, write_extra, s.keep_checkpoints);
        }
        if (stop && !last) throw interrupted(state.step, stop, saved);
    }
}

} // namespace train
STARBUCKS_NAMESPACE_END
