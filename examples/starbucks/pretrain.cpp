// SPDX-License-Identifier: Apache-2.0
// starbucks pretrain: SMAE (or plain MLM) pre-training of a BERT, METHOD.md section 4.
//
// What it does: reads plain-text corpora (one document per line, or blank-line separated blocks),
// tokenizes them with the model's WordPiece vocabulary, and pre-trains either a Hugging Face BERT
// (--init DIR, a BertForMaskedLM checkpoint; a bare encoder gets a fresh MLM head) or a randomly
// initialised one (--config config.json). Long documents give random windows of --max-length.
// Every step masks whole words (encoder copy 20 %, decoder copy 40 %, encoder ⊆ decoder) and
// sums, per (layers, dims) pair, MLM on the sub-model and MAE through a one-layer decoder.
// Run: starbucks pretrain --config examples/models/small-bert/config.json --corpus text.txt --out runs/smae
// Data parallel: `mpirun -np N starbucks pretrain ... --batch-size B` trains on N·B sequences per
// batch, each process masking and encoding B; rank 0 writes everything.
// Expect: a progress bar; OUT/metrics.jsonl; OUT/checkpoints/ (atomic, resumable bit for bit
// with --resume latest); OUT ends as a BertForMaskedLM folder (config.json, model.safetensors,
// the vocabulary) that `starbucks train --model OUT` fine-tunes.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <starbucks/data/corpus.hpp>
#include <starbucks/distributed/consensus.hpp>
#include <starbucks/io/save_safetensors.hpp>
#include <starbucks/train/pretrainer.hpp>

#include "common.hpp"
#include "progress.hpp"
#include "runtime.hpp"
#include "world.hpp"

namespace starbucks_cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

void add_pretrain(CLI::App& app, pretrain_options& o) {
    auto* cmd = app.add_subcommand("pretrain", "Pre-train a BERT with Starbucks masked autoencoding (SMAE) or plain MLM");
    auto* init = cmd->add_option("--init", o.init, "Model folder to start from (Hugging Face BertForMaskedLM, or a bare BERT encoder)");
    auto* config = cmd->add_option("--config", o.config, "config.json of a BERT to initialise randomly (instead of --init)");
    init->excludes(config);
    cmd->add_option("--vocab", o.vocab, "With --config: vocab.txt, tokenizer.json or their folder (default: the config's folder)");
    cmd->add_option("--corpus", o.corpus, "Plain-text UTF-8 files (repeat or list several)")->required();
    cmd->add_option("--corpus-layout", o.corpus_layout, "lines (a document per line) or blocks (blank-line separated)")
        ->capture_default_str()
        ->check(CLI::IsMember({"lines", "blocks"}));
    cmd->add_option("--out", o.out, "Output folder: the pre-trained model, checkpoints/, metrics.jsonl")->required();
    cmd->add_option("--objective", o.objective, "smae or mlm (the plain-MLM ablation)")->capture_default_str();
    cmd->add_option("--pairs", o.pairs, "smae: layers:dim list, small to large (default: METHOD.md's list scaled to the model)");
    cmd->add_option("--max-length", o.max_length, "Tokens per sequence, [CLS] and [SEP] included (default: min(128, positions))");
    cmd->add_option("--steps", o.steps, "Optimizer steps (default: --epochs over the documents)");
    cmd->add_option("--epochs", o.epochs, "Passes over the documents when --steps is not given")->capture_default_str();
    cmd->add_option("--batch-size", o.batch_size, "Sequences per micro-batch")->capture_default_str();
    cmd->add_option("--accumulation", o.accumulation, "Micro-batches per optimizer step")->capture_default_str();
    cmd->add_option("--lr", o.lr, "Peak learning rate (cosine after warm-up)")->capture_default_str();
    cmd->add_option("--warmup", o.warmup, "Warm-up as a fraction of the steps")->capture_default_str();
    cmd->add_option("--weight-decay", o.weight_decay, "AdamW decoupled weight decay (not on biases and LayerNorm)")->capture_default_str();
    cmd->add_option("--max-grad-norm", o.max_grad_norm, "Clip the global gradient norm (0: off)")->capture_default_str();
    cmd->add_flag("--no-dropout", o.no_dropout, "Turn dropout off");
    cmd->add_option("--seed", o.seed, "Initialisation, document order, windows, masks and dropout")->capture_default_str();
    add_dtype_flag(cmd, o.dtype);
    cmd->add_option("--backend,--device", o.backend, "reference, cpu_eigen, cpu_onednn or cuda (default: the fastest CPU backend compiled in)");
    cmd->add_option("--threads", o.threads, "Threads of the CPU backends (default: STARBUCKS_NUM_THREADS, else all cores)");
    cmd->add_option("--save-steps", o.save_steps, "Checkpoint every K steps (0: only at the end)")->capture_default_str();
    cmd->add_option("--keep-checkpoints", o.keep_checkpoints, "Checkpoints kept (the newest)")->capture_default_str();
    cmd->add_option("--max-memory", o.max_memory,
                    "Refuse to start when the estimated peak memory exceeds this (e.g. 8G, 512MB; default: the memory available now)");
    cmd->add_option("--resume", o.resume, "latest (the newest checkpoint under --out) or a checkpoint folder");
    cmd->add_flag("--skip-bad-lines", o.skip_bad_lines, "Skip corpus lines with invalid UTF-8 (counted) instead of stopping");
    cmd->add_flag("--stop-on-non-finite", o.stop_on_non_finite, "Stop at a NaN/inf step instead of skipping it (METHOD.md skips)");
    cmd->add_flag("--quiet", o.quiet, "No progress output");
    add_loop_flags(cmd, o.loop);
}

namespace {

/// Where the model's config and tokenizer come from.
struct model_source {
    fs::path config_file;
    fs::path tokenizer;    ///< a folder with vocab.txt / tokenizer.json, or one of those files
    fs::path weights;      ///< empty: random initialisation
};

model_source locate(const pretrain_options& o) {
    if (o.init.empty() == o.config.empty()) throw sb::usage_error("--init/--config", "give exactly one: a checkpoint folder or a config.json");
    if (!o.init.empty()) {
        require_directory(o.init);
        const fs::path dir = transformer_dir(o.init);
        std::error_code ec;
        const bool tokenizer_here = fs::exists(dir / "vocab.txt", ec) || fs::exists(dir / "tokenizer.json", ec);
        return {dir / "config.json", tokenizer_here ? dir : fs::path(o.init), sb::io::model_weights_path(dir)};
    }
    const fs::path folder = fs::path(o.config).has_parent_path() ? fs::path(o.config).parent_path() : fs::path(".");
    return {o.config, o.vocab.empty() ? folder : fs::path(o.vocab), {}};
}

sb::text::wordpiece load_tokenizer(const fs::path& where) {
    std::error_code ec;
    if (fs::is_directory(where, ec)) return sb::text::wordpiece::load(where);
    if (where.filename() == "tokenizer.json") return sb::text::wordpiece::load_tokenizer_json(where);
    return sb::text::wordpiece(sb::text::vocab::load_txt(where)); // uncased, as bert-base-uncased
}

/// Copies the config and tokenizer files into `dir` (a checkpoint or the final model folder).
void write_side_files(const model_source& src, const fs::path& dir, const json& recorded) {
    const auto copy = [&](const fs::path& from, const fs::path& to) {
        std::error_code ec;
        fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
        if (ec) throw sb::io_error(to.string(), "cannot copy from " + from.string() + ": " + ec.message());
    };
    copy(src.config_file, dir / "config.json");
    std::error_code ec;
    if (fs::is_directory(src.tokenizer, ec)) {
        for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
            if (fs::exists(src.tokenizer / f, ec)) copy(src.tokenizer / f, dir / f);
    } else {
        copy(src.tokenizer, dir / (src.tokenizer.filename() == "tokenizer.json" ? "tokenizer.json" : "vocab.txt"));
    }
    const std::string text = recorded.dump(2) + "\n";
    sb::io::write_file_atomically(dir / "starbucks_pretrain.json", std::as_bytes(std::span(text.data(), text.size())));
}

/// The corpora as WordPiece documents (documents without a single piece are dropped).
/// @throws format_error naming file:line for a malformed line; model_error naming file:line for
/// a piece the model has no embedding for (the tokenizer is not the model's).
std::vector<std::vector<sb::text::token_id>> read_documents(const pretrain_options& o, const sb::text::wordpiece& tokenizer,
                                                            std::size_t vocab_size) {
    sb::data::read_options ro;
    ro.skip_bad_rows = o.skip_bad_lines;
    const auto layout = o.corpus_layout == "blocks" ? sb::data::corpus_layout::blocks : sb::data::corpus_layout::lines;
    std::vector<std::vector<sb::text::token_id>> docs;
    std::size_t pieces = 0, empty = 0;
    for (const auto& file : o.corpus) {
        sb::data::read_stats stats;
        std::vector<std::size_t> lines;
        const auto texts = sb::data::read_corpus(file, layout, ro, stats, &lines);
        for (std::size_t d = 0; d < texts.size(); ++d) {
            auto ids = tokenizer.tokenize(texts[d]);
            for (const auto id : ids)
                if (static_cast<std::size_t>(id) >= vocab_size)
                    throw sb::model_error(file + ":" + std::to_string(lines[d]), "vocabulary",
                                          "piece \"" + tokenizer.vocabulary().token(id) + "\" has id " + std::to_string(id) +
                                              ", past the model's vocab_size " + std::to_string(vocab_size) + "; the tokenizer is not the model's");
            if (ids.empty()) {
                ++empty;
                continue;
            }
            pieces += ids.size();
            docs.push_back(std::move(ids));
        }
        if (stats.skipped)
            std::fprintf(stderr, "%s: skipped %zu malformed line(s); first: %s\n", file.c_str(), stats.skipped, stats.first_skipped.front().c_str());
    }
    if (docs.empty()) throw sb::format_error(o.corpus.front(), "corpus", "has no text the tokenizer turns into pieces");
    if (!o.quiet)
        std::fprintf(stderr, "pretrain: %zu documents, %zu pieces%s\n", docs.size(), pieces,
                     empty ? (" (" + std::to_string(empty) + " without pieces dropped)").c_str() : "");
    return docs;
}

template <class B>
void pretrain_on(const pretrain_options& o, const model_source& src, const sb::nn::bert_config& config, const sb::text::wordpiece& tokenizer,
                 std::vector<std::vector<sb::text::token_id>> docs, const sb::train::pretrainer_options& po, const json& recorded,
                 sb::distributed::communicator& comm) {
    const fs::path out = o.out;
    const bool root = comm.rank() == 0; // the only rank that writes
    sb::nn::bert_for_smae<float, B> model(config, o.seed);
    if (!src.weights.empty()) {
        const sb::io::safetensors_file weights(src.weights);
        if (weights.contains("cls.predictions.transform.dense.weight")) {
            model.mlm.load(weights);
        } else {
            model.mlm.bert.load(weights);
            if (!o.quiet) std::fprintf(stderr, "pretrain: %s has no MLM head; the head starts from random initialisation\n", src.weights.c_str());
        }
        model.init_decoder_from_encoder();
    }
    sb::train::pretrainer<float, B> trainer(model, tokenizer, std::move(docs), po, comm);
    const fs::path checkpoints = out / "checkpoints";
    std::uint64_t resumed = 0;
    if (!o.resume.empty()) {
        fs::path from = o.resume;
        if (o.resume == "latest") from = sb::train::list_checkpoints(checkpoints).back(); // checked before anything ran
        trainer.resume(from);
        resumed = trainer.state().step;
        if (!o.quiet) std::fprintf(stderr, "pretrain resumed from %s at step %llu\n", from.string().c_str(), static_cast<unsigned long long>(resumed));
    }
    std::optional<metrics_log> metrics;
    std::optional<progress> bar;
    if (root) metrics.emplace(out / "metrics.jsonl", resumed), bar.emplace("pretrain");
    run_profile profile(o.loop.profile && root);
    const auto t0 = std::chrono::steady_clock::now();
    trainer.run(
        [&](const sb::train::step_report& r) {
            if (!root) return;
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            metrics->write(r, s);
            if (!o.quiet) bar->update(r, s, resumed);
        },
        root ? checkpoints : fs::path(), [&](const fs::path& dir) { write_side_files(src, dir, recorded); });
    if (!root) return;
    profile.print("pretrain", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (trainer.state().skipped_steps && !o.quiet)
        std::fprintf(stderr, "pretrain: %llu non-finite step(s) skipped\n", static_cast<unsigned long long>(trainer.state().skipped_steps));
    // The model folder: BertForMaskedLM weights only (the MAE decoder stays in the checkpoints).
    std::vector<sb::io::tensor_entry> weights;
    for (const auto& entry : model.mlm.parameters()) // not a structured binding: clang 14 cannot capture one in the lambda
        std::visit([&](const auto& v) { weights.push_back(sb::io::make_entry(entry.first, v.value())); }, entry.second);
    sb::io::save_safetensors(out / "model.safetensors", weights, {{"format", "pt"}});
    write_side_files(src, out, recorded);
}

} // namespace

int run_pretrain(const pretrain_options& in) {
    sb::distributed::communicator& comm = open_world(in.loop.collective_timeout, in.backend == "cuda");
    const bool root = comm.rank() == 0;
    pretrain_options quiet_copy = in;
    quiet_copy.quiet = true;
    const pretrain_options& o = root ? in : quiet_copy; // only rank 0 prints progress
    const auto method = sb::train::parse_pretrain_method(o.objective);
    const model_source src = locate(o);
    const sb::nn::bert_config config = sb::io::read_bert_config(src.config_file);
    const auto tokenizer = load_tokenizer(src.tokenizer);
    const auto pairs = o.pairs.empty() ? sb::matryoshka::default_pairs(config.num_hidden_layers, config.hidden_size)
                                       : sb::matryoshka::pair_list::parse(o.pairs);
    if (method == sb::train::pretrain_method::smae) pairs.check_fits(config.num_hidden_layers, config.hidden_size, "--pairs");
    const std::size_t max_length = o.max_length == 0 ? std::min<std::size_t>(128, config.max_position_embeddings) : positive("--max-length", o.max_length);
    if (max_length < 3 || max_length > config.max_position_embeddings)
        throw sb::usage_error("--max-length", std::to_string(max_length) + " is outside 3.." + std::to_string(config.max_position_embeddings) +
                                                  " (max_position_embeddings of " + src.config_file.string() + ")");
    if (!(o.lr > 0) || !std::isfinite(o.lr)) throw sb::usage_error("--lr", "must be a positive number");
    if (!(o.warmup >= 0 && o.warmup <= 1)) throw sb::usage_error("--warmup", "is a fraction of the steps in [0, 1]");
    const fs::path out = o.out;
    std::error_code ec;
    if (o.resume.empty() && fs::exists(out, ec) && !fs::is_empty(out, ec))
        throw sb::usage_error("--out", out.string() + " is not empty; choose a new folder, or continue with --resume latest");
    if (o.resume == "latest" && sb::train::list_checkpoints(out / "checkpoints").empty())
        throw sb::usage_error("--resume", "latest: no checkpoint under " + (out / "checkpoints").string());
    sb::train::pretrainer_options po;
    po.method = method;
    po.pairs = pairs;
    po.batch_size = positive("--batch-size", o.batch_size);
    po.epochs = positive("--epochs", o.epochs);
    po.max_steps = o.steps;
    po.accumulation = positive("--accumulation", o.accumulation);
    po.max_length = max_length;
    po.lr = o.lr;
    po.warmup_ratio = o.warmup;
    po.weight_decay = o.weight_decay;
    po.max_grad_norm = o.max_grad_norm;
    po.dropout = !o.no_dropout;
    po.skip_non_finite = !o.stop_on_non_finite;
    po.overlap_gradient_sum = overlap_gradient_sum(o.loop.overlap);
    po.precision = matmul_precision_of(o.dtype);
    po.save_steps = o.save_steps;
    po.keep_checkpoints = positive("--keep-checkpoints", o.keep_checkpoints);
    po.seed = o.seed;

    if (!o.resume.empty()) { // refuse a mismatched resume before printing anything
        const fs::path from = o.resume == "latest" ? sb::train::list_checkpoints(out / "checkpoints").back() : fs::path(o.resume);
        auto expected = sb::train::to_json(po);
        if (!comm.is_single()) expected["world_size"] = comm.size();
        sb::train::check_same_options(sb::train::read_train_state(from / "trainer_state.json"), expected, from);
    }
    const bool smae = method == sb::train::pretrain_method::smae;
    // The head: transform, its LayerNorm and the output bias (the decoder matrix is the tied word
    // embeddings); SMAE adds its one-layer decoder.
    const std::uint64_t head = std::uint64_t{config.hidden_size} * config.hidden_size + 3 * config.hidden_size + config.vocab_size;
    const std::uint64_t parameters = sb::train::encoder_parameters(config, config.num_hidden_layers) + head +
                                     (smae ? sb::train::encoder_parameters(config, 1) - sb::train::encoder_parameters(config, 0) : 0);
    std::vector<std::vector<sb::text::token_id>> docs;
    // The last checks before anything is written; no process starts unless all pass them.
    sb::distributed::agree_to_start(comm, [&] {
        check_memory(o.max_memory, po.batch_size, [&](std::size_t batch) {
            sb::train::batch_geometry g;
            g.texts = batch;
            g.max_length = max_length;
            g.layers = config.num_hidden_layers;
            g.extra_layers = smae ? pairs.size() : 0; // the one-layer decoder runs once per pair
            // MLM rows: the encoder's masked tokens (per pair for SMAE) and the decoder's (SMAE).
            const double masked = smae ? double(pairs.size()) * (po.masking.encoder_ratio + po.masking.decoder_ratio) : 0.15;
            g.head_rows = static_cast<std::size_t>(masked * double(batch * max_length)) + 1;
            return sb::train::estimate_training_memory(config, parameters, g);
        });
        if (root) check_free_space(out, parameters);
        docs = read_documents(o, tokenizer, config.vocab_size); // a malformed line stops us before anything is created
    });
    // Every process must pre-train the same way on the same documents.
    sb::distributed::fingerprint same;
    same.add(sb::train::to_json(po).dump()).add(o.backend);
    for (const auto& d : docs) same.add(std::string_view(reinterpret_cast<const char*>(d.data()), d.size() * sizeof(d[0])));
    sb::distributed::check_same_everywhere(comm, same.value(), "options or documents");

    json recorded = {{"format_version", 1},
                     {"objective", o.objective},
                     {"pairs", json::array()},
                     {"max_length", max_length},
                     {"seed", o.seed},
                     {"command", command_line()},
                     {"version", STARBUCKS_VERSION_STRING}};
    if (method == sb::train::pretrain_method::smae)
        for (const auto& p : pairs) recorded["pairs"].push_back(json::array({p.layers, p.dim}));

    stop_training_on_signals();
    const std::string backend = choose_backend(o.backend, threads_per_process(o.threads));
    if (root) {
        fs::create_directories(out, ec);
        if (ec) throw sb::io_error(out.string(), "cannot create the output folder: " + ec.message());
    }
    if (!o.quiet)
        std::fprintf(stderr, "pretrain: objective %s, pairs %s, max length %zu, backend %s\n", o.objective.c_str(),
                     method == sb::train::pretrain_method::smae ? pairs.to_string().c_str() : "(full model)", max_length, backend.c_str());
    if (root && !comm.is_single())
        std::fprintf(stderr, "pretrain: %d processes over %s, batches of %zu x %d = %zu sequences; rank 0 writes\n", comm.size(), comm.name().c_str(),
                     po.batch_size, comm.size(), po.batch_size * static_cast<std::size_t>(comm.size()));
    with_backend(backend, [&]<class B>(std::type_identity<B>) { pretrain_on<B>(o, src, config, tokenizer, std::move(docs), po, recorded, comm); });
    if (!o.quiet) std::fprintf(stderr, "pretrain: model written to %s\n", out.string().c_str());
    return 0;
}

} // namespace starbucks_cli
