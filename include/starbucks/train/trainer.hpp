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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../autograd/autograd.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../data/token_batch.hpp"
#include "../distributed/all_gather.hpp"
#include "../distributed/communicator.hpp"
#include "../distributed/data_parallel.hpp"
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
/// [/negative]; for retrieval the query, its positive, then its pool of hard negatives) and,
/// for scored pairs, the score.
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
    std::size_t query_max_length = 32;    ///< retrieval: tokens per query
    std::size_t passage_max_length = 196; ///< retrieval: tokens per passage
    std::string query_prefix, passage_prefix; ///< retrieval: put before every query / passage
    /// retrieval: GradCache — encode at most this many texts per forward (0: the whole batch at
    /// once). The loss sees the whole batch either way; memory follows the chunk.
    std::size_t grad_cache_chunk = 0;
    double lr = 5e-5;
    double warmup_ratio = 0.1;        ///< of the total steps
    optim::schedule_kind schedule = optim::schedule_kind::linear;
    double weight_decay = 0.01;       ///< not applied to biases and LayerNorm
    double max_grad_norm = 1.0;       ///< 0 disables clipping
    bool dropout = true;
    bool skip_non_finite = false;     ///< skip a NaN/inf step instead of stopping
    bool overlap_gradient_sum = true; ///< with several ranks: sum gradients during backward, not after
    /// bf16: forward and backward GEMMs multiply bf16-rounded operands (f32 accumulation); the
    /// weights, gradients, optimizer state and element-wise ops stay f32.
    matmul_precision precision = matmul_precision::f32;
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
            {"task", o.objective.task == task_kind::retrieval ? "retrieval" : "sts"},
            {"group_size", o.objective.group_size},
            {"query_max_length", o.query_max_length},
            {"passage_max_length", o.passage_max_length},
            {"query_prefix", o.query_prefix},
            {"passage_prefix", o.passage_prefix},
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
///
/// Data parallelism (`comm` of W ranks, every rank holding the same data): a batch is
/// batch_size × W examples of the epoch's order, each rank encoding its contiguous share. The
/// pooled vectors are gathered from every rank, so in-batch negatives span the whole batch:
/// CoSENT, MNRL and KL see all W shares; retrieval scores this rank's queries against every
/// rank's passages. Gradients are summed over ranks, so with dropout off W ranks take the step
/// one process takes on the same batch (up to float reassociation). Each rank draws its own
/// dropout masks; a last batch with fewer examples than ranks is left out of the epoch.
template <class T, class B>
class trainer {
public:
    /// @throws usage_error for an empty data set, mismatched columns, or pairs beyond the model.
    trainer(nn::bert_encoder<T, B>& model, const text::wordpiece& tokenizer, std::vector<example> data, trainer_options options,
            distributed::communicator& comm = distributed::self())
        : model_(model), tokenizer_(tokenizer), data_(std::move(data)), o_(std::move(options)),
          optimizer_(optim::adamw_options{o_.lr, 0.9, 0.999, 1e-8, o_.weight_decay}), comm_(&comm) {
        if (data_.empty()) throw usage_error("starbucks::train::trainer", "no training examples");
        columns_ = data_.front().texts.size();
        const bool retrieval = o_.objective.task == task_kind::retrieval;
        if (retrieval && o_.objective.group_size == 0) throw usage_error("starbucks::train::trainer", "group size must be positive");
        for (std::size_t i = 0; i < data_.size(); ++i)
            if (retrieval && data_[i].texts.size() < 1 + o_.objective.group_size)
                throw usage_error("starbucks::train::trainer", "example " + std::to_string(i + 1) + " has " +
                                                                   std::to_string(data_[i].texts.size() < 2 ? 0 : data_[i].texts.size() - 2) +
                                                                   " hard negatives; a group of " + std::to_string(o_.objective.group_size) +
                                                                   " passages needs " + std::to_string(o_.objective.group_size - 1));
            else if (!retrieval && data_[i].texts.size() != columns_)
                throw usage_error("starbucks::train::trainer", "example " + std::to_string(i + 1) + " has " + std::to_string(data_[i].texts.size()) +
                                                                   " texts; the first has " + std::to_string(columns_));
        if (o_.batch_size == 0 || o_.accumulation == 0) throw usage_error("starbucks::train::trainer", "batch size and accumulation must be positive");
        o_.objective.pairs.check_fits(model_.n_layers(), model_.config.hidden_size, "--pairs");
        o_.objective.model_layers = model_.n_layers();
        // Dropout masks follow the training seed, not the initialisation seed, so a resumed
        // run (whose weights come from a checkpoint) draws the same masks.
        // Rank 0 draws the masks of a single process; the others their own.
        model_.dropout_seed = o_.seed ^ 0xd409u ^ (0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(comm_->rank()));
        params_ = model_.parameters();
        states_ = register_parameters(params_, optimizer_);
        const std::size_t world = static_cast<std::size_t>(comm_->size());
        batches_per_epoch_ = distributed::batches_per_epoch(*comm_, data_.size(), o_.batch_size);
        const std::size_t per_epoch = (batches_per_epoch_ + o_.accumulation - 1) / o_.accumulation;
        total_steps_ = o_.max_steps ? o_.max_steps : per_epoch * o_.epochs;
        state_.options = to_json(o_);
        if (world > 1) state_.options["world_size"] = world; // absent means one process (older checkpoints)
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
                                     o_.skip_non_finite, o_.save_steps, o_.keep_checkpoints, comm_, o_.overlap_gradient_sum,
                                     o_.precision};
        distributed::broadcast_parameters(*comm_, states_); // one start, whatever each rank loaded
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

    /// @brief The loss of micro-batch `index` of `epoch` (this run's data order), its gradients
    /// accumulated into the model's parameters; no optimizer step (for custom loops and checks).
    /// `heard` (e.g. a distributed::gradient_reducer) hears the backward pass that finishes them.
    matryoshka::multi_target<T, B> backward_batch(std::uint64_t epoch, std::uint64_t index, autograd::gradient_listener* heard = nullptr) {
        if (index >= batches_per_epoch_) throw usage_error("starbucks::train::trainer", "batch " + std::to_string(index) + " is past the epoch's " + std::to_string(batches_per_epoch_));
        autograd::tape tape;
        tape.listen(heard);
        model_.training = o_.dropout;
        auto total = micro_batch(tape, epoch, index, 1.0);
        model_.training = false;
        return total;
    }

private:
    using share = distributed::batch_share;
    share share_of(std::uint64_t index) const { return distributed::share_of_batch(*comm_, index, o_.batch_size, data_.size()); }

    /// @brief The retrieval loss of this rank's queries `q` against the passages `p` of every
    /// rank (gathered when there are several), its seed `weight` scaled to this rank's share of
    /// the batch and its reported values the batch's (the mean over ranks).
    matryoshka::multi_target<T, B> retrieval_loss(const std::vector<autograd::var<T, dextents<2>, B>>& q,
                                                  const std::vector<autograd::var<T, dextents<2>, B>>& p, const share& sh, double& weight) {
        if (comm_->is_single()) return retrieval_objective_pooled(o_.objective, q, p, state_.step);
        std::vector<std::size_t> passage_rows(sh.rows_per_rank);
        for (auto& r : passage_rows) r *= o_.objective.group_size;
        // Only the layers the loss reads travel; the others stay this rank's (never read).
        const auto read = layers_read(o_.objective, o_.objective.model_layers, state_.step);
        std::vector<autograd::var<T, dextents<2>, B>> all;
        for (std::size_t n = 0; n < p.size(); ++n)
            all.push_back(std::binary_search(read.begin(), read.end(), n) ? distributed::all_gather_rows(*comm_, p[n], passage_rows) : p[n]);
        auto total = retrieval_objective_pooled(o_.objective, q, all, state_.step, sh.first, sh.global_rows);
        // Each term is a mean over this rank's queries (or, for passage KLs, the same on every
        // rank): weighting by the share makes the sum over ranks the whole batch's loss.
        const double share_weight = double(sh.rows) / double(sh.global_rows);
        std::vector<double> values;
        for (const auto& t : total.terms()) values.push_back(share_weight * t.value);
        comm_->all_reduce_sum(std::span<double>(values));
        total.set_values(values);
        weight *= share_weight;
        return total;
    }

    const std::vector<std::size_t>& order(std::uint64_t epoch) {
        if (order_epoch_ != epoch || order_.empty()) {
            order_ = epoch_order(data_.size(), o_.seed, epoch);
            order_epoch_ = epoch;
        }
        return order_;
    }

    /// The G passages of example `e` this epoch: its positive, then G−1 of its hard negatives
    /// drawn without replacement from (seed, epoch, example), so a resumed run draws the same.
    void add_group(std::vector<std::string_view>& out, std::size_t e, std::uint64_t epoch) const {
        const auto& t = data_[e].texts;
        out.push_back(t[1]);
        std::vector<std::size_t> pool(t.size() - 2);
        for (std::size_t i = 0; i < pool.size(); ++i) pool[i] = 2 + i;
        const rng_stream draw{o_.seed ^ 0x4e6567ull, epoch * data_.size() + e};
        for (std::size_t k = 0; k + 1 < o_.objective.group_size; ++k) { // partial Fisher-Yates
            if (pool.size() > o_.objective.group_size - 1) std::swap(pool[k], pool[k + draw.bits(k) % (pool.size() - k)]);
            out.push_back(t[pool[k]]);
        }
    }

    /// @brief Retrieval with GradCache (Gao et al., 2021): (1) every chunk of texts runs through the
    /// encoder without a graph and only its CLS vectors are kept; (2) the loss of the whole batch
    /// runs on those vectors and gives dL/d(vector); (3) each chunk runs again with a graph, its
    /// dropout replayed (the forward counter is rewound), and backpropagates Σ ⟨vector, dL/dvector⟩,
    /// whose parameter gradient is the chunk's share of dL/dθ. Memory: one chunk's activations.
    matryoshka::multi_target<T, B> retrieval_batch_cached(autograd::tape& tape, const std::vector<std::string_view>& queries,
                                                         const std::vector<std::string_view>& passages, const share& sh, double weight) {
        namespace ag = autograd;
        const std::size_t layers = layers_needed(o_.objective, model_.n_layers());
        const std::size_t width = model_.config.hidden_size;
        // Several backward passes: the listener (the gradient sum over ranks) hears only the last.
        autograd::gradient_listener* const heard = tape.listener();
        tape.listen(nullptr);
        struct chunk {
            std::span<const std::string_view> texts;
            std::size_t max_length;
            std::uint64_t forward;
        };
        std::vector<chunk> chunks;
        for (const auto& [texts, length] : {std::pair{&queries, o_.query_max_length}, std::pair{&passages, o_.passage_max_length}})
            for (std::size_t b = 0; b < texts->size(); b += o_.grad_cache_chunk)
                chunks.push_back({std::span<const std::string_view>(texts->data() + b, std::min(o_.grad_cache_chunk, texts->size() - b)), length, 0});
        const auto encode = [&](const chunk& c) {
            const auto tb = starbucks::data::tokenize<T, B>(tokenizer_, c.texts, c.max_length, model_.config.vocab_size, "starbucks::train::trainer");
            const auto h = model_(tb.ids, tb.mask, layers);
            std::vector<ag::var<T, dextents<2>, B>> cls;
            for (const auto& hn : h) cls.push_back(ag::contiguous(nn::cls_pooling(hn)));
            return cls;
        };
        // (1) vectors of every chunk, no graph; each chunk's dropout stream remembered
        std::vector<tensor<T, dextents<2>, B>> q_vec(layers + 1, tensor<T, dextents<2>, B>(queries.size(), width));
        std::vector<tensor<T, dextents<2>, B>> p_vec(layers + 1, tensor<T, dextents<2>, B>(passages.size(), width));
        {
            ag::no_grad off;
            std::size_t row_q = 0, row_p = 0;
            for (auto& c : chunks) {
                c.forward = model_.training_forwards();
                const bool is_query = c.texts.data() >= queries.data() && c.texts.data() < queries.data() + queries.size();
                auto& dst = is_query ? q_vec : p_vec;
                std::size_t& row = is_query ? row_q : row_p;
                const auto cls = encode(c);
                for (std::size_t n = 0; n <= layers; ++n)
                    assign(starbucks::slice(dst[n], 0, row, row + c.texts.size()), as_const_view(cls[n].value()));
                row += c.texts.size();
            }
        }
        const std::uint64_t forwards_after = model_.training_forwards();
        // (2) the loss of the whole batch on the cached vectors
        std::vector<ag::var<T, dextents<2>, B>> q, p;
        for (std::size_t n = 0; n <= layers; ++n) q.push_back(ag::parameter(std::move(q_vec[n]))), p.push_back(ag::parameter(std::move(p_vec[n])));
        tape.clear();
        matryoshka::multi_target<T, B> total;
        {
            auto on = tape.activate();
            total = retrieval_loss(q, p, sh, weight);
            std::vector<ag::loss_term> seeds = total.loss_terms();
            for (auto& s : seeds) s.weight *= weight;
            tape.backward(seeds);
        }
        tape.clear();
        // (3) each chunk again, with a graph and the same dropout, seeded with its vectors' gradients
        std::size_t row_q = 0, row_p = 0;
        for (const auto& c : chunks) {
            const bool is_query = c.texts.data() >= queries.data() && c.texts.data() < queries.data() + queries.size();
            const auto& leaves = is_query ? q : p;
            std::size_t& row = is_query ? row_q : row_p;
            model_.set_training_forwards(c.forward);
            if (&c == &chunks.back()) tape.listen(heard);
            auto on = tape.activate();
            const auto cls = encode(c);
            std::optional<ag::var<T, extents<>, B>> surrogate;
            for (std::size_t n = 0; n <= layers; ++n) {
                if (!leaves[n].has_grad()) continue;
                tensor<T, dextents<2>, B> g = contiguous(starbucks::slice(leaves[n].grad(), 0, row, row + c.texts.size()));
                auto term = ag::sum(ag::mul(cls[n], ag::constant_input(std::move(g))));
                surrogate = surrogate ? ag::add(*surrogate, term) : term;
            }
            if (surrogate) tape.backward({*surrogate});
            tape.clear();
            row += c.texts.size();
        }
        model_.set_training_forwards(forwards_after);
        return total;
    }

    /// Retrieval: the queries and their groups of passages, two forwards, the retrieval objective.
    matryoshka::multi_target<T, B> retrieval_batch(autograd::tape& tape, const std::vector<std::size_t>& examples, const share& sh, std::uint64_t epoch,
                                                   double weight) {
        std::vector<std::string> queries;
        std::vector<std::string> prefixed;
        std::vector<std::string_view> passages;
        for (std::size_t e : examples) queries.push_back(o_.query_prefix + data_[e].texts[0]);
        for (std::size_t e : examples) add_group(passages, e, epoch);
        if (!o_.passage_prefix.empty()) {
            for (auto v : passages) prefixed.push_back(o_.passage_prefix + std::string(v));
            passages.assign(prefixed.begin(), prefixed.end());
        }
        const std::vector<std::string_view> query_views(queries.begin(), queries.end());
        if (o_.grad_cache_chunk > 0) return retrieval_batch_cached(tape, query_views, passages, sh, weight);
        const auto qb = starbucks::data::tokenize<T, B>(tokenizer_, query_views, o_.query_max_length, model_.config.vocab_size, "starbucks::train::trainer");
        const auto pb = starbucks::data::tokenize<T, B>(tokenizer_, passages, o_.passage_max_length, model_.config.vocab_size, "starbucks::train::trainer");
        tape.clear();
        auto on = tape.activate();
        const std::size_t layers = layers_needed(o_.objective, model_.n_layers());
        const auto qh = model_(qb.ids, qb.mask, layers);
        const auto ph = model_(pb.ids, pb.mask, layers);
        std::vector<autograd::var<T, dextents<2>, B>> q, p;
        for (std::size_t n = 0; n < qh.size(); ++n) {
            q.push_back(autograd::contiguous(nn::cls_pooling(qh[n])));
            p.push_back(autograd::contiguous(nn::cls_pooling(ph[n])));
        }
        auto total = retrieval_loss(q, p, sh, weight);
        std::vector<autograd::loss_term> seeds = total.loss_terms();
        for (auto& s : seeds) s.weight *= weight;
        tape.backward(seeds);
        tape.clear();
        return total;
    }

    /// @brief Scored pairs and MNRL across ranks: every rank's pooled vectors gathered column by
    /// column into the whole batch's layout, the whole batch's loss on every rank, seeded with
    /// weight / W (the gather's backward sums the W copies of each rank's gradient).
    matryoshka::multi_target<T, B> gathered_objective(const std::vector<autograd::var<T, dextents<3>, B>>& hidden, const tensor<T, dextents<2>, B>& mask,
                                                      const share& sh, double& weight) {
        namespace ag = autograd;
        const auto& ord = order_;
        batch_layout<T> layout{sh.global_rows, columns_, {}};
        const std::size_t start = sh.begin - sh.first;
        for (std::size_t r = 0; r < sh.global_rows; ++r) layout.scores.push_back(static_cast<T>(data_[ord[start + r]].score));
        std::vector<std::optional<ag::var<T, dextents<2>, B>>> gathered(hidden.size());
        const pooled_layer<T, B> f = [&](std::size_t n) -> const ag::var<T, dextents<2>, B>& {
            if (!gathered[n]) {
                const auto local = nn::mean_pooling(hidden[n], mask); // (rows · columns, C), column blocks
                std::optional<ag::var<T, dextents<2>, B>> all;
                for (std::size_t c = 0; c < columns_; ++c) {
                    auto part = distributed::all_gather_rows(*comm_, ag::slice(local, 0, c * sh.rows, (c + 1) * sh.rows), sh.rows_per_rank);
                    all = all ? ag::concat<0>(*all, part) : part;
                }
                gathered[n] = *all;
            }
            return *gathered[n];
        };
        weight /= double(comm_->size());
        return objective_pooled(o_.objective, f, hidden.size() - 1, hidden.back().extent(2), layout, state_.step);
    }

    /// Forward and backward of one micro-batch, its loss seeded with `weight`.
    matryoshka::multi_target<T, B> micro_batch(autograd::tape& tape, std::uint64_t epoch, std::uint64_t index, double weight) {
        const auto& ord = order(epoch);
        const share sh = share_of(index);
        const std::size_t begin = sh.begin, rows = sh.rows;
        if (o_.objective.task == task_kind::retrieval)
            return retrieval_batch(tape, std::vector<std::size_t>(ord.begin() + std::ptrdiff_t(begin), ord.begin() + std::ptrdiff_t(begin + rows)), sh, epoch,
                                   weight);
        std::vector<std::string_view> texts;
        batch_layout<T> layout{rows, columns_, {}};
        for (std::size_t c = 0; c < columns_; ++c)
            for (std::size_t r = 0; r < rows; ++r) texts.push_back(data_[ord[begin + r]].texts[c]);
        for (std::size_t r = 0; r < rows; ++r) layout.scores.push_back(static_cast<T>(data_[ord[begin + r]].score));
        const auto batch = [&] {
            autograd::profiler::section timed("tokenize");
            return starbucks::data::tokenize<T, B>(tokenizer_, texts, o_.max_length, model_.config.vocab_size, "starbucks::train::trainer");
        }();
        const auto& mask = batch.mask;
        tape.clear();
        auto on = tape.activate();
        const auto hidden = model_(batch.ids, mask, layers_needed(o_.objective, model_.n_layers()));
        auto total = comm_->is_single() ? objective(o_.objective, hidden, mask, layout, state_.step) : gathered_objective(hidden, mask, sh, weight);
        std::vector<autograd::loss_term> seeds = total.loss_terms();
        for (auto& s : seeds) s.weight *= weight;
        tape.backward(seeds);
        autograd::profiler::section timed("free_graph");
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
    distributed::communicator* comm_;
};

} // namespace train
STARBUCKS_NAMESPACE_END
