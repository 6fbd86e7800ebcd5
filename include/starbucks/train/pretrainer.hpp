// SPDX-License-Identifier: Apache-2.0
// train::pretrainer: SMAE (or plain MLM) pre-training on tokenized documents. Each step draws
// documents in a per-epoch shuffled order, cuts a random window from long ones, masks both
// copies, and runs the shared step loop (accumulation, clipping, NaN skipping, checkpoints).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../autograd/autograd.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "../distributed/communicator.hpp"
#include "../distributed/data_parallel.hpp"
#include "../nn/bert_for_smae.hpp"
#include "../ops/transfer.hpp"
#include "../optim/adamw.hpp"
#include "../text/wordpiece.hpp"
#include "checkpoint.hpp"
#include "masking.hpp"
#include "smae_objective.hpp"
#include "step_loop.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace train {

/// @brief Pre-training settings; the defaults are METHOD.md section 4's (lr 1e-4 cosine, 5 %
/// warm-up, weight decay 0.001, NaN steps skipped) at a batch size a CPU can hold.
struct pretrainer_options {
    pretrain_method method = pretrain_method::smae;
    matryoshka::pair_list pairs;      ///< smae only
    masking_options masking;
    std::size_t batch_size = 16;      ///< sequences per micro-batch
    std::size_t epochs = 1;
    std::size_t max_steps = 0;        ///< optimizer steps; 0 = epochs over the documents
    std::size_t accumulation = 1;
    std::size_t max_length = 128;     ///< tokens per sequence, [CLS] and [SEP] included
    double lr = 1e-4;
    double warmup_ratio = 0.05;
    optim::schedule_kind schedule = optim::schedule_kind::cosine;
    double weight_decay = 0.001;
    double max_grad_norm = 1.0;
    bool dropout = true;
    bool skip_non_finite = true;
    bool overlap_gradient_sum = true; ///< with several ranks: sum gradients during backward, not after
    /// bf16: forward and backward GEMMs multiply bf16-rounded operands (f32 accumulation); the
    /// weights, gradients, optimizer state and element-wise ops stay f32.
    matmul_precision precision = matmul_precision::f32;
    std::size_t save_steps = 0;
    std::size_t keep_checkpoints = 2;
    std::uint64_t seed = 42;          ///< document order, windows, masks and dropout
};

/// The options that must match when a run resumes.
inline nlohmann::json to_json(const pretrainer_options& o) {
    return {{"objective", to_string(o.method)},
            {"pairs", o.method == pretrain_method::smae ? o.pairs.to_flag() : std::string()},
            {"encoder_ratio", o.masking.encoder_ratio},
            {"decoder_ratio", o.masking.decoder_ratio},
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

/// @brief Pre-trains `model` on `documents` (WordPiece ids without [CLS]/[SEP]).
///
/// The masks of a sequence depend only on (seed, epoch, its position in the epoch's order), so
/// `resume` then `run` gives bitwise the weights of an uninterrupted run (same backend and
/// threads).
///
/// Data parallelism (`comm` of W ranks, each holding every document): a batch is batch_size × W
/// sequences of the epoch's order, each rank masking and encoding its contiguous share (the
/// same masks one process would draw). Every loss term is a mean over predicted tokens, so
/// each rank seeds its terms with its share of the batch's predicted tokens and the gradients
/// are summed: with dropout off, W ranks take the step one process takes on the whole batch.
template <class T, class B = backend::reference>
class pretrainer {
public:
    /// @throws usage_error for no documents, an empty document, options out of range, pairs
    /// beyond the model, max_length beyond its positions or a tokenizer whose vocabulary is not the model's.
    pretrainer(nn::bert_for_smae<T, B>& model, const text::wordpiece& tokenizer, std::vector<std::vector<text::token_id>> documents,
               pretrainer_options options, distributed::communicator& comm = distributed::self())
        : model_(model), roles_(token_roles::of(tokenizer)), docs_(std::move(documents)), o_(std::move(options)),
          optimizer_(optim::adamw_options{o_.lr, 0.9, 0.999, 1e-8, o_.weight_decay}), comm_(&comm) {
        static const std::string where = "starbucks::train::pretrainer";
        if (docs_.empty()) throw usage_error(where, "no documents");
        for (std::size_t i = 0; i < docs_.size(); ++i)
            if (docs_[i].empty()) throw usage_error(where, "document " + std::to_string(i + 1) + " has no tokens");
        if (o_.batch_size == 0 || o_.accumulation == 0) throw usage_error(where, "batch size and accumulation must be positive");
        const auto& c = model_.config();
        // A tokenizer may hold a few tokens past the model's embeddings (tiny-bert-ner: 405 vs 402)
        // as long as the documents never use them; a smaller one (padded vocab_size) is fine.
        for (const auto id : {roles_.cls_id, roles_.sep_id, roles_.mask_id})
            if (static_cast<std::size_t>(id) >= c.vocab_size)
                throw usage_error(where, "special token id " + std::to_string(id) + " is outside the model's vocab_size " + std::to_string(c.vocab_size));
        for (std::size_t i = 0; i < docs_.size(); ++i)
            for (const auto id : docs_[i])
                if (id < 0 || static_cast<std::size_t>(id) >= c.vocab_size)
                    throw usage_error(where, "document " + std::to_string(i + 1) + " has token id " + std::to_string(id) +
                                                 ", outside the model's vocab_size " + std::to_string(c.vocab_size) + "; use the model's own vocabulary");
        roles_.random_ids = std::min<std::size_t>(roles_.vocab_size(), c.vocab_size);
        if (o_.max_length < 3 || o_.max_length > c.max_position_embeddings)
            throw usage_error("--max-length", std::to_string(o_.max_length) + " is outside 3.." + std::to_string(c.max_position_embeddings) +
                                                  " (the model's max_position_embeddings)");
        if (!(o_.masking.encoder_ratio > 0 && o_.masking.encoder_ratio <= o_.masking.decoder_ratio && o_.masking.decoder_ratio < 1))
            throw usage_error(where, "masking ratios must satisfy 0 < encoder <= decoder < 1");
        if (o_.method == pretrain_method::smae) o_.pairs.check_fits(c.num_hidden_layers, c.hidden_size, "--pairs");
        model_.mlm.bert.dropout_seed = o_.seed ^ 0xd409u ^ (0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(comm_->rank()));
        params_ = model_.parameters();
        states_ = register_parameters(params_, optimizer_);
        batches_per_epoch_ = distributed::batches_per_epoch(*comm_, docs_.size(), o_.batch_size);
        const std::size_t per_epoch = (batches_per_epoch_ + o_.accumulation - 1) / o_.accumulation;
        total_steps_ = o_.max_steps ? o_.max_steps : per_epoch * o_.epochs;
        state_.options = to_json(o_);
        if (comm_->size() > 1) state_.options["world_size"] = comm_->size();
    }

    std::uint64_t total_steps() const noexcept { return total_steps_; }
    const train_state& state() const noexcept { return state_; }
    const pretrainer_options& options() const noexcept { return o_; }

    /// @brief Continues from a checkpoint folder written by this pretrainer.
    /// @throws usage_error naming an option that differs; io/format/model errors from the files.
    void resume(const std::filesystem::path& checkpoint) {
        train_state s = load_checkpoint(checkpoint, model_, optimizer_);
        check_same_options(s, state_.options, checkpoint);
        state_ = std::move(s);
        model_.mlm.bert.set_training_forwards(state_.encoder_forwards);
    }

    /// @brief The masked sequences of micro-batch `index` of `epoch` (what a step trains on;
    /// this rank's share of them under data parallelism).
    std::vector<masked_sequence> sequences(std::uint64_t epoch, std::uint64_t index) {
        const auto& ord = order(epoch);
        const auto sh = distributed::share_of_batch(*comm_, index, o_.batch_size, docs_.size());
        const std::size_t begin = sh.begin, rows = sh.rows;
        std::vector<masked_sequence> out;
        out.reserve(rows);
        for (std::size_t r = 0; r < rows; ++r) {
            const std::uint64_t key = epoch * docs_.size() + begin + r;
            const auto ids = sequence_window(docs_[ord[begin + r]], o_.max_length, roles_, o_.seed, key);
            out.push_back(mask_sequence(ids, roles_, o_.seed, key, o_.masking));
        }
        return out;
    }

    /// @brief Trains until total_steps (see run_steps for the callbacks and errors).
    void run(const std::function<void(const step_report&)>& on_step, const std::filesystem::path& checkpoints = {},
             const std::function<void(const std::filesystem::path&)>& write_extra = {}) {
        model_.mlm.bert.training = o_.dropout;
        const step_settings settings{total_steps_, o_.accumulation, o_.lr, o_.warmup_ratio, o_.schedule, o_.max_grad_norm,
                                     o_.skip_non_finite, o_.save_steps, o_.keep_checkpoints, comm_, o_.overlap_gradient_sum,
                                     o_.precision};
        distributed::broadcast_parameters(*comm_, states_); // one start, whatever each rank loaded
        const auto next = [&](autograd::tape& tape, double weight) {
            if (state_.batch_in_epoch >= batches_per_epoch_) {
                ++state_.epoch;
                state_.batch_in_epoch = 0;
            }
            const auto batch = collate<T, B>(sequences(state_.epoch, state_.batch_in_epoch++));
            tape.clear();
            auto on = tape.activate();
            auto total = smae_objective(model_, batch, o_.pairs, o_.method);
            std::vector<autograd::loss_term> seeds = total.loss_terms();
            const auto shares = token_shares(batch, total);
            for (std::size_t k = 0; k < seeds.size(); ++k) seeds[k].weight *= weight * shares[k];
            tape.backward(seeds);
            tape.clear();
            return total;
        };
        run_steps(state_, settings, optimizer_, params_, states_, next, [&] { return model_.mlm.bert.training_forwards(); }, on_step,
                  checkpoints, write_extra);
        model_.mlm.bert.training = false;
    }

private:
    /// @brief Data parallelism: each term's share of the batch = this rank's predicted tokens
    /// over all ranks' (MLM terms count encoder-masked tokens, MAE terms decoder-masked ones);
    /// the reported values become the whole batch's (Σ share · value over ranks). 1 on one process.
    std::vector<double> token_shares(const masked_batch<T, B>& batch, matryoshka::multi_target<T, B>& total) {
        std::vector<double> shares(total.size(), 1.0);
        if (comm_->is_single()) return shares;
        const auto count = [](const nn::id_tensor<B>& device_labels) {
            const auto labels = host_copy(device_labels);
            double n = 0;
            for (std::size_t i = 0; i < labels.size(); ++i) n += labels.data()[i] != not_predicted;
            return n;
        };
        std::vector<double> tokens{count(batch.encoder_labels), count(batch.decoder_labels)};
        std::vector<double> all(tokens);
        comm_->all_reduce_sum(std::span<double>(all));
        std::vector<double> values;
        for (std::size_t k = 0; k < total.size(); ++k) {
            const std::size_t side = total.terms()[k].name.rfind("mae_", 0) == 0 ? 1 : 0;
            shares[k] = all[side] > 0 ? tokens[side] / all[side] : 0.0;
            // No tokens on this rank: its NaN mean counts for nothing; none anywhere: NaN, as on one process (the step is skipped).
            values.push_back(all[side] == 0 ? std::numeric_limits<double>::quiet_NaN() : shares[k] > 0 ? shares[k] * total.terms()[k].value : 0.0);
        }
        comm_->all_reduce_sum(std::span<double>(values));
        total.set_values(values);
        return shares;
    }

    const std::vector<std::size_t>& order(std::uint64_t epoch) {
        if (order_epoch_ != epoch || order_.empty()) {
            order_ = epoch_order(docs_.size(), o_.seed, epoch);
            order_epoch_ = epoch;
        }
        return order_;
    }

    nn::bert_for_smae<T, B>& model_;
    token_roles roles_;
    std::vector<std::vector<text::token_id>> docs_;
    pretrainer_options o_;
    optim::adamw<T, B> optimizer_;
    nn::parameter_list<T, B> params_;
    std::vector<std::shared_ptr<autograd::var_state<T, B>>> states_;
    std::size_t batches_per_epoch_ = 0;
    std::uint64_t total_steps_ = 0;
    train_state state_;
    std::vector<std::size_t> order_;
    std::uint64_t order_epoch_ = ~std::uint64_t{0};
    distributed::communicator* comm_;
};

} // namespace train
STARBUCKS_NAMESPACE_END
