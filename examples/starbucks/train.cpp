// SPDX-License-Identifier: Apache-2.0
// starbucks train: fine-tune a BERT model folder so every listed (layers, dims) size works.
//
// What it does: reads scored pairs (CoSENT) or anchor/positive[/negative] rows (MNRL), and trains
// with one strategy of METHOD.md §2–3: starbucks (SRL: every pair's loss + 0.3·KL to the largest,
// every step), 2dmse (sentence-transformers' Matryoshka2dLoss as the paper ran it), separate (one
// model per pair, first n layers) or full (plain fine-tuning). AdamW with warm-up and a linear or
// cosine schedule, gradient clipping and accumulation, dropout on.
// Data: STS TSV/CSV (score + two texts, header or not), or a TSV with a header naming the columns.
// Run: starbucks train --task sts --model DIR --train examples/data/stsb-train.tsv --out runs/srl
// Expect: a progress bar (TTY) or plain lines with the loss, pair losses and ETA; DIR/metrics.jsonl
// with one line per step; DIR/checkpoints/checkpoint-NNNNNN every --save-steps (atomic, the last two
// kept); DIR itself ends as a sentence-transformers / Hugging Face model folder with
// starbucks_config.json. --resume latest continues bit for bit. A NaN stops with the step number.
// Data parallel: `mpirun -np N starbucks train ... --batch-size B` trains on batches of N·B, each
// process encoding B and scoring against all N·B (gathered negatives); rank 0 writes everything.
#include <unistd.h>

#include <chrono>
#include <unordered_map>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <starbucks/data/beir.hpp>
#include <starbucks/data/data.hpp>
#include <starbucks/data/retrieval_groups.hpp>
#include <starbucks/data/trec.hpp>
#include <starbucks/eval/retrieval.hpp>
#include <starbucks/distributed/consensus.hpp>
#include <starbucks/io/st_folder.hpp>
#include <starbucks/train/trainer.hpp>

#include "common.hpp"
#include "progress.hpp"
#include "runtime.hpp"
#include "world.hpp"

namespace starbucks_cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

void add_train(CLI::App& app, train_options& o) {
    auto* cmd = app.add_subcommand("train", "Fine-tune a model so every (layers, dims) pair of a list works (SRL and baselines)");
    cmd->add_option("--task", o.task, "sts (scored pairs or NLI triplets) or retrieval (query, positive, hard negatives)")
        ->capture_default_str()
        ->check(CLI::IsMember({"sts", "retrieval"}));
    cmd->add_option("--model", o.model, "Model folder to start from (Hugging Face or sentence-transformers layout)")->required();
    cmd->add_option("--train", o.train,
                    "Training data: STS TSV/CSV for cosent, anchor/positive[/negative] TSV for mnrl; retrieval groups JSONL (query, positive, "
                    "negatives) or TSV (query, positive, negative...)");
    cmd->add_option("--out", o.out, "Output folder: the trained model, checkpoints/, metrics.jsonl")->required();
    cmd->add_option("--strategy", o.strategy, "starbucks, 2dmse, separate or full")->capture_default_str();
    cmd->add_option("--loss", o.loss, "cosent (scored pairs) or mnrl (in-batch negatives)")->capture_default_str();
    cmd->add_option("--pairs", o.pairs, "layers:dim list, small to large (default: METHOD.md's list scaled to the model)");
    cmd->add_option("--epochs", o.epochs, "Passes over the data")->capture_default_str();
    cmd->add_option("--max-steps", o.max_steps, "Optimizer steps (overrides --epochs)");
    cmd->add_option("--batch-size", o.batch_size, "Examples per micro-batch (per process under mpirun)")->capture_default_str();
    cmd->add_option("--accumulation", o.accumulation, "Micro-batches per optimizer step")->capture_default_str();
    cmd->add_option("--max-length", o.max_length, "Tokens per text, [CLS] and [SEP] included (default: 128, or the model's positions)");
    cmd->add_option("--lr", o.lr, "Peak learning rate")->capture_default_str();
    cmd->add_option("--warmup", o.warmup, "Warm-up as a fraction of the steps")->capture_default_str();
    cmd->add_option("--schedule", o.schedule, "linear, cosine or constant after warm-up")->capture_default_str();
    cmd->add_option("--weight-decay", o.weight_decay, "AdamW decoupled weight decay (not on biases and LayerNorm)")->capture_default_str();
    cmd->add_option("--max-grad-norm", o.max_grad_norm, "Clip the global gradient norm (0: off)")->capture_default_str();
    o.kl_weight_flag = cmd->add_option("--kl-weight,--kl_divergence_weight", o.kl_weight, "starbucks: weight of each KL term (default 0.3 for sts, 1 for retrieval)");
    cmd->add_option("--group-size,--train_group_size", o.group_size, "retrieval: passages per query, 1 positive + G-1 hard negatives")->capture_default_str();
    cmd->add_option("--query-max-length,--query_max_len", o.query_max_length, "retrieval: tokens per query")->capture_default_str();
    cmd->add_option("--passage-max-length,--passage_max_len", o.passage_max_length, "retrieval: tokens per passage")->capture_default_str();
    cmd->add_option("--query-prefix", o.query_prefix, "retrieval: text put before every query");
    cmd->add_option("--passage-prefix", o.passage_prefix, "retrieval: text put before every passage");
    cmd->add_option("--grad-cache-chunk", o.grad_cache_chunk,
                    "retrieval: GradCache, encode at most N texts per forward (large batches on small memory; 0: off)")
        ->capture_default_str();
    cmd->add_option("--corpus", o.corpus, "retrieval without --train: passages (BEIR corpus.jsonl or id/text TSV)");
    cmd->add_option("--queries", o.queries, "retrieval without --train: queries (BEIR queries.jsonl or id/text TSV)");
    cmd->add_option("--qrels", o.qrels, "retrieval without --train: training judgments; one example per relevant (query, passage)");
    cmd->add_option("--negatives", o.negatives, "retrieval without --train: hard negatives mined per query by exhaustive search with the start model")
        ->capture_default_str();
    cmd->add_flag("--detach-teacher", o.detach_teacher, "starbucks: stop the KL gradient into the largest pair");
    cmd->add_flag("--2dmse-corrected", o.twodmse_corrected, "2dmse: uniform layer weight and a detached teacher (the upstream fix)");
    cmd->add_flag("--no-dropout", o.no_dropout, "Turn dropout off");
    cmd->add_option("--seed", o.seed, "Data order and dropout seed")->capture_default_str();
    add_dtype_flag(cmd, o.dtype);
    cmd->add_option("--backend,--device", o.backend, "reference, cpu_eigen, cpu_onednn or cuda (default: the fastest CPU backend compiled in)");
    cmd->add_option("--threads", o.threads, "Threads of the CPU backends (default: STARBUCKS_NUM_THREADS, else all cores)");
    cmd->add_option("--save-steps", o.save_steps, "Checkpoint every K steps (0: only at the end)")->capture_default_str();
    cmd->add_option("--keep-checkpoints", o.keep_checkpoints, "Checkpoints kept (the newest)")->capture_default_str();
    cmd->add_option("--max-memory", o.max_memory,
                    "Refuse to start when the estimated peak memory exceeds this (e.g. 8G, 512MB; default: the memory available now)");
    cmd->add_option("--resume", o.resume, "latest (the newest checkpoint under --out) or a checkpoint folder");
    add_loop_flags(cmd, o.loop);
    cmd->add_flag("--skip-bad-rows", o.skip_bad_rows, "Skip malformed data rows (counted) instead of stopping at the first");
    cmd->add_flag("--skip-non-finite", o.skip_non_finite, "Skip a step whose loss or gradient is NaN/inf (counted) instead of stopping");
    cmd->set_config("--config", "", "TOML or INI file of option values (keys as the flags without --); flags on the command line win");
}

namespace {

/// The examples of --train for the chosen loss. @throws format_error naming file:line.
std::vector<sb::train::example> read_examples(const train_options& o, sb::train::task_loss loss) {
    sb::data::read_options ro;
    ro.skip_bad_rows = o.skip_bad_rows;
    sb::data::read_stats stats;
    std::vector<sb::train::example> out;
    if (loss == sb::train::task_loss::cosent) {
        for (auto& p : sb::data::read_sts(o.train, ro, stats)) out.push_back({{std::move(p.text1), std::move(p.text2)}, p.score});
    } else {
        for (auto& p : sb::data::read_pairs(o.train, ro, stats)) {
            sb::train::example e{{std::move(p.anchor), std::move(p.positive)}, 0};
            if (p.negative) e.texts.push_back(std::move(*p.negative));
            out.push_back(std::move(e));
        }
    }
    if (stats.skipped)
        std::fprintf(stderr, "%s: skipped %zu malformed row(s) of %zu; first: %s\n", o.train.c_str(), stats.skipped,
                     stats.rows + stats.skipped, stats.first_skipped.empty() ? "" : stats.first_skipped.front().c_str());
    if (out.empty()) throw sb::format_error(o.train, "data", "has no usable rows");
    return out;
}

/// Retrieval groups of --train: [query, positive, negatives...] per example. @throws format_error naming file:line.
std::vector<sb::train::example> read_groups(const train_options& o) {
    sb::data::read_options ro;
    ro.skip_bad_rows = o.skip_bad_rows;
    sb::data::read_stats stats;
    std::vector<sb::train::example> out;
    for (auto& g : sb::data::read_training_groups(o.train, ro, stats)) {
        sb::train::example e{{std::move(g.query), std::move(g.positive)}, 0};
        for (auto& n : g.negatives) e.texts.push_back(std::move(n));
        out.push_back(std::move(e));
    }
    if (stats.skipped)
        std::fprintf(stderr, "%s: skipped %zu malformed row(s) of %zu; first: %s\n", o.train.c_str(), stats.skipped, stats.rows + stats.skipped,
                     stats.first_skipped.front().c_str());
    return out;
}

/// @brief Retrieval groups from judgments: one example per (query, relevant passage), with the
/// --negatives highest-ranked unjudged passages of an exhaustive search by the start model at full
/// size (its own pooling and similarity: a sentence-transformers folder's, else CLS and dot).
template <class B>
std::vector<sb::train::example> mine_groups(const train_options& o) {
    model_folder_t<B> m = open_model_on<B>(o.model);
    const auto tokenizer = sb::text::wordpiece::load(m.tokenizer_dir);
    const sb::io::st_folder_defaults fd = sb::io::read_st_folder(o.model, m.config);
    const sb::data::qrels judged = sb::data::read_qrels(o.qrels);
    sb::data::read_options ro;
    ro.skip_bad_rows = o.skip_bad_rows;
    std::vector<sb::data::text_record> queries;
    std::size_t max_relevant = 0;
    for (auto& q : sb::data::read_text_records(o.queries, ro))
        if (const auto it = judged.queries.find(q.id); it != judged.queries.end()) {
            std::size_t relevant = 0;
            for (const auto& [doc, grade] : it->second) relevant += grade >= 1;
            if (relevant == 0) continue;
            max_relevant = std::max(max_relevant, relevant);
            queries.push_back(std::move(q));
        }
    if (queries.empty()) throw sb::format_error(o.qrels, "judgments", "no query of " + o.queries + " has a relevant passage here");
    std::unordered_map<std::string, std::string> passages;
    for (auto& r : sb::data::read_text_records(o.corpus, ro)) passages.emplace(std::move(r.id), std::move(r.text));
    sb::eval::retrieval_options so;
    std::error_code ec;
    const bool st = std::filesystem::exists(std::filesystem::path(o.model) / "modules.json", ec);
    so.pool = fd.pooling.value_or(st ? "mean" : "cls") == "mean" ? sb::eval::pooling::mean : sb::eval::pooling::cls;
    so.score = st ? sb::eval::similarity::cosine : sb::eval::similarity::dot;
    so.depth = static_cast<std::size_t>(o.negatives) + max_relevant;
    so.query_max_length = std::min<std::size_t>(static_cast<std::size_t>(o.query_max_length), m.config.max_position_embeddings);
    so.passage_max_length = std::min<std::size_t>(static_cast<std::size_t>(o.passage_max_length), m.config.max_position_embeddings);
    so.query_prefix = o.query_prefix;
    so.passage_prefix = o.passage_prefix;
    const auto t0 = std::chrono::steady_clock::now();
    so.on_block = [&](std::size_t docs) {
        std::fprintf(stderr, "train: mining negatives, %zu of %zu passages encoded (%.0f s)\n", docs, passages.size(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };
    sb::data::text_record_reader corpus(o.corpus, ro);
    const auto found = sb::eval::search(m.encoder, tokenizer, queries, corpus, {{m.config.num_hidden_layers, m.config.hidden_size}}, so);
    std::vector<sb::train::example> out;
    std::size_t missing = 0;
    for (std::size_t q = 0; q < queries.size(); ++q) {
        const auto& j = judged.queries.at(queries[q].id);
        std::vector<std::string> negatives;
        for (const auto& h : found.hits[0][q]) {
            if (negatives.size() == static_cast<std::size_t>(o.negatives)) break;
            const auto it = j.find(found.doc_ids[h.doc]);
            if (it == j.end() || it->second < 1) negatives.push_back(passages.at(found.doc_ids[h.doc]));
        }
        for (const auto& [doc, grade] : j) {
            if (grade < 1) continue;
            const auto p = passages.find(doc);
            if (p == passages.end()) {
                ++missing;
                continue;
            }
            sb::train::example e{{queries[q].text, p->second}, 0};
            e.texts.insert(e.texts.end(), negatives.begin(), negatives.end());
            out.push_back(std::move(e));
        }
    }
    if (missing) std::fprintf(stderr, "train: %zu relevant passage(s) of %s are not in %s; left out\n", missing, o.qrels.c_str(), o.corpus.c_str());
    std::fprintf(stderr, "train: %zu examples from %zu queries, %lld negatives each mined with the start model\n", out.size(), queries.size(),
                 static_cast<long long>(o.negatives));
    return out;
}

/// Files a checkpoint needs besides weights to be a loadable model folder: the source's config,
/// tokenizer and sentence-transformers side files, and starbucks_config.json.
void write_model_side_files(const fs::path& source, const fs::path& dir, const json& starbucks_config) {
    for (const char* f : {"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                          "added_tokens.json", "sentence_bert_config.json", "config_sentence_transformers.json"}) {
        std::error_code ec;
        if (!fs::exists(source / f, ec)) continue;
        fs::copy_file(source / f, dir / f, fs::copy_options::overwrite_existing, ec);
        if (ec) throw sb::io_error((dir / f).string(), "cannot copy from " + (source / f).string() + ": " + ec.message());
    }
    const std::string text = starbucks_config.dump(2) + "\n";
    sb::io::write_file_atomically(dir / "starbucks_config.json", std::as_bytes(std::span(text.data(), text.size())));
}

/// Moves every entry of `from` into `to` (replacing same-named entries), then removes `from`.
void move_entries(const fs::path& from, const fs::path& to) {
    for (const auto& e : fs::directory_iterator(from)) {
        std::error_code ec;
        const fs::path target = to / e.path().filename();
        if (fs::is_directory(target, ec)) fs::remove_all(target, ec);
        fs::rename(e.path(), target, ec);
        if (ec) throw sb::io_error(target.string(), "cannot move the trained model into place: " + ec.message());
    }
    fs::remove_all(from);
}

/// @brief Trains one model (all pairs, or one pair for `separate`) into `out` on backend B.
template <class B>
void train_one(const train_options& o, const sb::train::trainer_options& to, const std::vector<sb::train::example>& data,
               const fs::path& out, std::size_t export_layers, const std::string& label, const json& starbucks_config,
               sb::distributed::communicator& comm) {
    model_folder_t<B> m = open_model_on<B>(o.model);
    const auto tokenizer = sb::text::wordpiece::load(m.tokenizer_dir);
    sb::train::trainer<float, B> trainer(m.encoder, tokenizer, data, to, comm);
    const bool root = comm.rank() == 0; // the only rank that writes
    const fs::path checkpoints = out / "checkpoints";
    std::uint64_t resumed = 0;
    if (!o.resume.empty()) {
        fs::path from = o.resume;
        if (o.resume == "latest") {
            const auto all = sb::train::list_checkpoints(checkpoints);
            if (all.empty()) throw sb::usage_error("--resume", "latest: no checkpoint under " + checkpoints.string());
            from = all.back();
        }
        trainer.resume(from);
        resumed = trainer.state().step;
        if (root) std::fprintf(stderr, "%s resumed from %s at step %llu\n", label.c_str(), from.string().c_str(), static_cast<unsigned long long>(resumed));
    }
    std::optional<metrics_log> metrics;
    std::optional<progress> bar;
    if (root) metrics.emplace(out / "metrics.jsonl", resumed), bar.emplace(label);
    run_profile profile(o.loop.profile && root);
    const auto t0 = std::chrono::steady_clock::now();
    const auto source = m.transformer_dir;
    trainer.run(
        [&](const sb::train::step_report& r) {
            if (!root) return;
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            metrics->write(r, s);
            bar->update(r, s, resumed);
        },
        root ? checkpoints : fs::path(), [&](const fs::path& dir) { write_model_side_files(source, dir, starbucks_config); });
    if (!root) return;
    profile.print(label, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    // The last checkpoint is a complete model folder: export its first N layers into `out`.
    export_model(sb::train::list_checkpoints(checkpoints).back(), out / ".model.partial", export_layers);
    move_entries(out / ".model.partial", out);
}

} // namespace

int run_train(const train_options& in) {
    const train_options& o = in;
    sb::distributed::communicator& comm = open_world(o.loop.collective_timeout, o.backend == "cuda");
    const bool root = comm.rank() == 0;
    const auto method = sb::train::parse_strategy(o.strategy);
    const auto loss = sb::train::parse_task_loss(o.loss);
    const sb::nn::bert_config config = read_config(o.model);
    const auto pairs = o.pairs.empty() ? sb::matryoshka::default_pairs(config.num_hidden_layers, config.hidden_size)
                                       : sb::matryoshka::pair_list::parse(o.pairs);
    pairs.check_fits(config.num_hidden_layers, config.hidden_size, "--pairs");
    const fs::path out = o.out;
    std::error_code ec;
    if (o.resume.empty() && fs::exists(out, ec) && !fs::is_empty(out, ec))
        throw sb::usage_error("--out", out.string() + " is not empty; choose a new folder, or continue with --resume latest");
    if (o.resume == "latest" && method != sb::train::strategy::separate && sb::train::list_checkpoints(out / "checkpoints").empty())
        throw sb::usage_error("--resume", "latest: no checkpoint under " + (out / "checkpoints").string());
    const bool retrieval = o.task == "retrieval";
    std::vector<sb::train::example> data; // a malformed row stops us before anything is created
    if (retrieval) {
        const bool from_judgments = !o.corpus.empty() || !o.queries.empty() || !o.qrels.empty();
        if (from_judgments == !o.train.empty())
            throw sb::usage_error("--train", "retrieval takes either --train groups or --corpus, --queries and --qrels (negatives mined)");
        if (from_judgments && (o.corpus.empty() || o.queries.empty() || o.qrels.empty()))
            throw sb::usage_error("--corpus", "mining negatives needs all of --corpus, --queries and --qrels");
        if (o.negatives < 0) throw sb::usage_error("--negatives", "must be at least 0");
        if (!o.train.empty()) data = read_groups(o);
    } else {
        if (o.train.empty()) throw sb::usage_error("--train", "the sts task needs --train");
        data = read_examples(o, loss);
    }

    sb::train::trainer_options to;
    to.objective.method = method;
    to.objective.loss = loss;
    to.objective.pairs = pairs;
    to.objective.kl_weight = o.kl_weight;
    to.objective.detach_teacher = o.detach_teacher;
    to.objective.twodmse_corrected = o.twodmse_corrected;
    to.objective.seed = o.seed;
    if (retrieval) {
        to.objective.task = sb::train::task_kind::retrieval;
        to.objective.group_size = positive("--group-size", o.group_size);
        if (o.kl_weight_flag == nullptr || o.kl_weight_flag->count() == 0) to.objective.kl_weight = 1.0; // METHOD.md §2.2
        to.query_max_length = positive("--query-max-length", o.query_max_length);
        to.passage_max_length = positive("--passage-max-length", o.passage_max_length);
        for (const auto& [flag, length] : {std::pair{"--query-max-length", to.query_max_length}, std::pair{"--passage-max-length", to.passage_max_length}})
            if (length < 2 || length > config.max_position_embeddings)
                throw sb::usage_error(flag, std::to_string(length) + " is outside 2.." + std::to_string(config.max_position_embeddings) +
                                                " (the model's max_position_embeddings)");
        to.query_prefix = o.query_prefix;
        to.passage_prefix = o.passage_prefix;
        if (o.grad_cache_chunk < 0) throw sb::usage_error("--grad-cache-chunk", "must be at least 0 (0: off)");
        to.grad_cache_chunk = static_cast<std::size_t>(o.grad_cache_chunk);
    }
    to.batch_size = positive("--batch-size", o.batch_size);
    to.epochs = positive("--epochs", o.epochs);
    to.max_steps = o.max_steps;
    to.accumulation = positive("--accumulation", o.accumulation);
    // Unset: 128 tokens, or fewer when the model's positions end sooner.
    to.max_length = o.max_length == 0 ? std::min<std::size_t>(128, config.max_position_embeddings) : positive("--max-length", o.max_length);
    if (to.max_length > config.max_position_embeddings)
        throw sb::usage_error("--max-length", std::to_string(to.max_length) + " exceeds max_position_embeddings " +
                                                  std::to_string(config.max_position_embeddings));
    if (!(o.lr > 0) || !std::isfinite(o.lr)) throw sb::usage_error("--lr", "must be a positive number");
    if (!(o.warmup >= 0 && o.warmup <= 1)) throw sb::usage_error("--warmup", "is a fraction of the steps in [0, 1]");
    to.lr = o.lr;
    to.warmup_ratio = o.warmup;
    to.schedule = sb::optim::parse_schedule(o.schedule);
    to.weight_decay = o.weight_decay;
    to.max_grad_norm = o.max_grad_norm;
    to.dropout = !o.no_dropout;
    to.skip_non_finite = o.skip_non_finite;
    to.overlap_gradient_sum = overlap_gradient_sum(o.loop.overlap);
    to.precision = matmul_precision_of(o.dtype);
    to.save_steps = o.save_steps;
    to.keep_checkpoints = positive("--keep-checkpoints", o.keep_checkpoints);
    to.seed = o.seed;

    // starbucks_config.json (ECOSYSTEM.md): the trained pairs, pooling, method and loss settings.
    const std::string method_name = method == sb::train::strategy::starbucks ? "srl" : o.strategy;
    json recorded = {{"format_version", 1},
                     {"task", o.task},
                     {"pooling", retrieval ? "cls" : "mean"},
                     {"normalize", false},
                     {"method", method_name},
                     {"loss", retrieval ? json{{"name", "retrieval_ce"}, {"temperature", 1}, {"kl_weight", to.objective.kl_weight},
                                               {"detach_teacher", true}, {"group_size", to.objective.group_size}}
                                        : json{{"name", o.loss}, {"scale", 20}, {"kl_weight", o.kl_weight}, {"detach_teacher", o.detach_teacher},
                                               {"twodmse_corrected", o.twodmse_corrected}}},
                     {"similarity", retrieval ? "dot" : "cosine"},
                     {"command", command_line()},
                     {"version", STARBUCKS_VERSION_STRING}};
    json trained = json::array();
    for (const auto& p : pairs) trained.push_back(json::array({p.layers, p.dim}));
    recorded["pairs"] = trained;

    const std::string backend = choose_backend(o.backend, threads_per_process(o.threads));
    if (retrieval && data.empty())
        with_backend(backend, [&]<class B>(std::type_identity<B>) { data = mine_groups<B>(o); });
    if (data.empty()) throw sb::format_error(o.train.empty() ? o.qrels : o.train, "data", "has no usable examples");
    if (retrieval) // checked before the output folder exists (the trainer checks again)
        for (std::size_t i = 0; i < data.size(); ++i)
            if (data[i].texts.size() < 1 + to.objective.group_size)
                throw sb::usage_error("--group-size", "example " + std::to_string(i + 1) + " has " + std::to_string(data[i].texts.size() - 2) +
                                                          " hard negatives; a group of " + std::to_string(to.objective.group_size) + " passages needs " +
                                                          std::to_string(to.objective.group_size - 1) + " (lower --group-size or give more negatives)");
    std::size_t deepest = 0;
    for (const auto& p : pairs) deepest = std::max(deepest, p.layers);
    const std::uint64_t parameters =
        sb::train::encoder_parameters(config, method == sb::train::strategy::separate ? deepest : config.num_hidden_layers);
    // Every process must train the same way on the same data: compare what each one read.
    sb::distributed::fingerprint same;
    same.add(sb::train::to_json(to).dump()).add(backend);
    for (const auto& e : data) {
        for (const auto& t : e.texts) same.add(t);
        same.add(e.score);
    }
    sb::distributed::check_same_everywhere(comm, same.value(), "options or training data");
    // The last checks before anything is written; no process starts unless all pass them.
    sb::distributed::agree_to_start(comm, [&] {
        check_memory(o.max_memory, to.batch_size, [&](std::size_t batch) {
            sb::train::batch_geometry g;
            std::size_t texts = 0; // per example: the largest in the data (pairs 2, triplets 3), or the retrieval group
            for (const auto& e : data) texts = std::max(texts, e.texts.size());
            g.texts = batch * (retrieval ? 1 + to.objective.group_size : texts);
            g.max_length = retrieval ? std::max(to.query_max_length, to.passage_max_length) : to.max_length;
            if (retrieval && to.grad_cache_chunk > 0) g.texts = std::min(g.texts, to.grad_cache_chunk); // one chunk's graph at a time
            g.layers = deepest;
            return sb::train::estimate_training_memory(config, parameters, g);
        });
        if (root) check_free_space(out, parameters);
    });
    stop_training_on_signals();
    if (root) {
        fs::create_directories(out, ec);
        if (ec) throw sb::io_error(out.string(), "cannot create the output folder: " + ec.message());
        std::fprintf(stderr, "train: %zu examples, task %s, strategy %s, loss %s, pairs %s, backend %s\n", data.size(), o.task.c_str(), o.strategy.c_str(),
                     retrieval ? "retrieval cross-entropy" : o.loss.c_str(), pairs.to_string().c_str(), backend.c_str());
        if (!comm.is_single())
            std::fprintf(stderr, "train: %d processes over %s, batches of %zu x %d = %zu examples with gathered negatives; rank 0 writes\n", comm.size(),
                         comm.name().c_str(), to.batch_size, comm.size(), to.batch_size * static_cast<std::size_t>(comm.size()));
    }
    const auto run_one = [&](const sb::train::trainer_options& opts, const fs::path& dir, std::size_t layers, const std::string& label,
                             const json& rec) {
        with_backend(backend, [&]<class B>(std::type_identity<B>) { train_one<B>(o, opts, data, dir, layers, label, rec, comm); });
    };
    if (method != sb::train::strategy::separate) {
        run_one(to, out, config.num_hidden_layers, "train", recorded);
        if (root) std::fprintf(stderr, "train: model written to %s\n", out.string().c_str());
        return 0;
    }
    // separate: one model per pair, each its own folder (first n layers, full width), listed in
    // the top-level starbucks_config.json so that `eval sts` scores each pair with its own model.
    json models = json::object();
    for (const auto& p : pairs) {
        const std::string name = sb::matryoshka::label(p);
        const fs::path dir = out / "separate" / name;
        models[name] = (fs::path("separate") / name).string();
        if (fs::exists(dir / "model.safetensors", ec) && !o.resume.empty()) continue; // finished before the resume
        auto one = to;
        one.objective.pairs = sb::matryoshka::pair_list({p});
        json rec = recorded;
        rec["pairs"] = json::array({json::array({p.layers, p.dim})});
        train_options sub = o;
        if (!o.resume.empty() && sb::train::list_checkpoints(dir / "checkpoints").empty()) sub.resume.clear();
        if (root) fs::create_directories(dir, ec);
        with_backend(backend, [&]<class B>(std::type_identity<B>) { train_one<B>(sub, one, data, dir, p.layers, "train " + name, rec, comm); });
    }
    if (!root) return 0;
    recorded["separate_models"] = models;
    const std::string text = recorded.dump(2) + "\n";
    sb::io::write_file_atomically(out / "starbucks_config.json", std::as_bytes(std::span(text.data(), text.size())));
    std::fprintf(stderr, "train: %zu separate models written under %s\n", pairs.size(), (out / "separate").string().c_str());
    return 0;
}

} // namespace starbucks_cli
