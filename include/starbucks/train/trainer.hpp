// SPDX-License-Identifier: Apache-2.0
// train::trainer: the fine-tuning loop. Batches of tokenized examples, one encoder forward per
// micro-batch, the strategy's multi-target loss, gradient accumulation and clipping, AdamW with
// a warm-up schedule, non-finite checks, and atomic checkpoints that resume bit for bit.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../autograd/autograd.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../data/token_batch.hpp"
#include "../nn/bert_encoder.hpp"
#include "../optim/adamw.hpp"
#include "../optim/clip.hpp"
#include "../optim/schedule.hpp"
#include "../text/wordpiece.hpp"
#include "checkpoint.hpp"
#include "objective.hpp"
#include "step_loop.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace train {

/// One training example: the texts of its columns (first/second text, or anchor/positive
/// [/negative]) and, for scored pairs, the score.
struct example {
    std::vector<std::string> texts;
    double score = 0;
};

/// @brief Everything the loop needs besides the model, tokenizer and data.
struct trainer_options {
    objective_options objective;
    std::size_t batch_size = 16;      ///< examples per micro-batch
    std::size_t epochs = 1;
    std::size_t max_steps = 0;        ///< optimizer steps; 0 = epochs over the data
    std::size_t accumulation = 1;     ///< micro-batches per optimizer step
    std::size_t max_length = 128;     ///< tokens per text, [CLS] and [SEP] included
    double lr = 5e-5;
    double warmup_ratio = 0.1;        ///< of the total steps
    optim::schedule_kind schedule = optim::schedule_kind::linear;
    double weight_decay = 0.01;       ///< not applied to biases and LayerNorm
    double max_grad_norm = 1.0;       ///< 0 disables clipping
    bool dropout = true;
    bool skip_non_finite = false;     ///< skip a NaN/inf step instead of stopping
    std::size_t save_steps = 0;       ///< checkpoint every K steps (0: only at the end)
    std::size_t keep_checkpoints = 2;
    std::uint64_t seed = 42;          ///< data order and dropout masks (the model's init has its own)
};

/// The options that must match when a run resumes (JSON for trainer_state.json).
inline nlohmann::json to_json(const trainer_options& o) {
    return {{"strategy", to_string(o.objective.method)},
            {"loss", to_string(o.objective.loss)},
            {"pairs", o.objective.pairs.to_flag()},
            {"scale", o.objective.scale},
            {"kl_weight", o.objective.kl_weight},
            {"detach_teacher", o.objective.detach_teacher},
            {"twodmse_corrected", o.objective.twodmse_corrected},
            {"batch_size", o.batch_size},
            {"epochs", o.epochs},
            {"max_steps", o.max_steps},
            {"accumulation", o.accumulation},
            {"max_length", o.max_length},
            {"lr", o.lr},
            {"warmup_ratio", o.warmup_ratio},
            {"weight_decay", o.weight_decay},
            {"max_grad_norm", o.max_grad_norm},
            {"dropout", o.dropout},
            {"seed", o.seed}};
}

/// @brief Fine-tunes `model` on `data` with the objective of `options`.
///
/// Guarantees: the data order depends only on (seed, epoch); dropout only on the encoder's
/// forward counter; 2dmse draws only on the step. A checkpoint stores weights, moments and those
/// counters, so `resume` followed by `run` gives bitwise the weights of an uninterrupted run (same
/// backend and thread count). Checkpoints are written only after finite steps.
template <class T, class B>
class trainer {
public:
    /// @throws usage_error for an empty data set, mismatched columns, or pairs beyond the model.
    trainer(nn::bert_encoder<T, B>& model, const text::wordpiece& tokenizer, std::vector<example> data, trainer_options options)
        : model_(model), tokenizer_(tokenizer), data_(std::move(data)), o_(std::move(options)),
          optimizer_(optim::adamw_options{o_.lr, 0.9, 0.999, 1e-8, o_.weight_decay}) {
        if (data_.empty()) throw usage_error("starbucks::train::trainer", "no training examples");
        columns_ = data_.front().texts.size();
        for (std::size_t i = 0; i < data_.size(); ++i)
            if (data_[i].texts.size() != columns_)
                throw usage_error("starbucks::train::trainer", "example " + std::to_string(i + 1) + " has " + std::to_string(data_[i].texts.size()) +
                                                                   " texts; the first has " + std::to_string(columns_));
        if (o_.batch_size == 0 || o_.accumulation == 0) throw usage_error("starbucks::train::trainer", "batch size and accumulation must be positive");
        o_.objective.pairs.check_fits(model_.n_layers(), model_.config.hidden_size, "--pairs");
        o_.objective.model_layers = model_.n_layers();
        // Dropout masks follow the training seed, not the initialisation seed, so a resumed
        // run (whose weights come from a checkpoint) draws the same masks.
        model_.dropout_seed = o_.seed ^ 0xd409u;
        params_ = model_.parameters();
        states_ = register_parameters(params_, optimizer_);
        batches_per_epoch_ = (data_.size() + o_.batch_size - 1) / o_.batch_size;
        const std::size_t per_epoch = (batches_per_epoch_ + o_.accumulation - 1) / o_.accumulation;
        total_steps_ = o_.max_steps ? o_.max_steps : per_epoch * o_.epochs;
        state_.options = to_json(o_);
    }

    std::uint64_t total_steps() const noexcept { return total_steps_; }
    const train_state& state() const noexcept { return state_; }
    const trainer_options& options() const noexcept { return o_; }
    optim::adamw<T, B>& optimizer() noexcept { return optimizer_; }

    /// @brief Continues from a checkpoint folder written by this trainer.
    /// @throws usage_error naming the option that differs from the checkpoint's run; io/format/model errors from the files.
    void resume(const std::filesystem::path& checkpoint) {
        train_state s = load_checkpoint(checkpoint, model_, optimizer_);
        check_same_options(s, state_.options, checkpoint);
        state_ = std::move(s);
        model_.set_training_forwards(state_.encoder_forwards);
    }

    /// @brief Trains until total_steps, calling `on_step` after each step and checkpointing every
    /// save_steps (and at the end) under `checkpoints` when it is not empty; `write_extra(dir)`
    /// adds config and tokenizer files to each checkpoint.
    /// @throws numeric_error naming the step and the term when a loss or gradient is not finite
    /// (unless skipping); io_error when a checkpoint cannot be written (earlier ones stay).
    void run(const std::function<void(const step_report&)>& on_step, const std::filesystem::path& checkpoints = {},
             const std::function<void(const std::filesystem::path&)>& write_extra = {}) {
        model_.training = o_.dropout;
        const step_settings settings{total_steps_, o_.accumulation, o_.lr, o_.warmup_ratio, o_.schedule, o_.max_grad_norm,
                                     o_.skip_non_finite, o_.save_steps, o_.keep_checkpoints};
        const auto next = [&](autograd::tape& tape, double weight) {
            if (state_.batch_in_epoch >= batches_per_epoch_) {
                ++state_.epoch;
                state_.batch_in_epoch = 0;
            }
            return micro_batch(tape, state_.epoch, state_.batch_in_epoch++, weight);
        };
        run_steps(state_, settings, optimizer_, params_, states_, next, [&] { return model_.training_forwards(); }, on_step, checkpoints,
                  write_extra);
        model_.training = false;
    }

private:
    const std::vector<std::size_t>& order(std::uint64_t epoch) {
        if (order_epoch_ != epoch || order_.empty()) {
            order_ = epoch_order(data_.size(), o_.seed, epoch);
            order_epoch_ = epoch;
        }
        return order_;
    }

    /// Forward and backward of one micro-batch, its loss seeded with `weight`.
    matryoshka::multi_target<T, B> micro_batch(autograd::tape& tape, std::uint64_t epoch, std::uint64_t index, double weight) {
        const auto& ord = order(epoch);
        const std::size_t begin = static_cast<std::size_t>(index) * o_.batch_size;
        const std::size_t rows = std::min(o_.batch_size, data_.size() - begin);
        std::vector<std::string_view> texts;
        batch_layout<T> layout{rows, columns_, {}};
        for (std::size_t c = 0; c < columns_; ++c)
            for (std::size_t r = 0; r < rows; ++r) texts.push_back(data_[ord[begin + r]].texts[c]);
        for (std::size_t r = 0; r < rows; ++r) layout.scores.push_back(static_cast<T>(data_[ord[begin + r]].score));
        const auto batch = starbucks::data::tokenize<T, B>(tokenizer_, texts, o_.max_length, model_.config.vocab_size, "starbucks::train::trainer");
        const auto& mask = batch.mask;
        tape.clear();
        auto on = tape.activate();
        const auto hidden = model_(batch.ids, mask, layers_needed(o_.objective, model_.n_layers()));
        auto total = objective(o_.objective, hidden, mask, layout, state_.step);
        std::vector<autograd::loss_term> seeds = total.loss_terms();
        for (auto& s : seeds) s.weight *= weight;
        tape.backward(seeds);
        tape.clear();
        return total;
    }

    nn::bert_encoder<T, B>& model_;
    const text::wordpiece& tokenizer_;
    std::vector<example> data_;
    trainer_options o_;
    optim::adamw<T, B> optimizer_;
    nn::parameter_list<T, B> params_;
    std::vector<std::shared_ptr<autograd::var_state<T, B>>> states_;
    std::size_t columns_ = 0;
    std::size_t batches_per_epoch_ = 0;
    std::uint64_t total_steps_ = 0;
    train_state state_;
    std::vector<std::size_t> order_;
    std::uint64_t order_epoch_ = ~std::uint64_t{0};
};

} // namespace train
STARBUCKS_NAMESPACE_END
