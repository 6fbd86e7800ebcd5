// SPDX-License-Identifier: Apache-2.0
// What the starbucks subcommands share: opening a model folder and printing numbers.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <starbucks/starbucks.hpp>

namespace starbucks_cli {

namespace sb = starbucks;

/// A model folder opened and checked: config.json parsed, model.safetensors validated, and every
/// weight the config needs loaded into an encoder (the nn loader's name and shape checks).
struct model_folder {
    std::filesystem::path dir;
    sb::nn::bert_config config;
    sb::io::safetensors_file weights;
    sb::nn::bert_encoder<float> encoder;
};

/// @brief The folder must exist and be a directory. @throws io_error naming it.
inline void require_directory(const std::filesystem::path& dir) {
    std::error_code ec;
    const auto status = std::filesystem::status(dir, ec);
    if (!std::filesystem::exists(status)) throw sb::io_error(dir.string(), "model folder does not exist");
    if (!std::filesystem::is_directory(status)) throw sb::io_error(dir.string(), "not a directory; --model takes a model folder");
}

/// @brief Reads only config.json of `dir`. @throws io_error, format_error, unsupported_error, model_error.
inline sb::nn::bert_config read_config(const std::filesystem::path& dir) {
    require_directory(dir);
    return sb::io::read_bert_config(dir / "config.json");
}

/// @brief Opens `dir` and loads its weights. @throws as read_config, and io_error / format_error /
/// model_error for model.safetensors (missing, malformed, a tensor missing or mis-shaped).
inline model_folder open_model(const std::filesystem::path& dir) {
    auto config = read_config(dir);
    sb::io::safetensors_file weights(sb::io::model_weights_path(dir));
    sb::nn::bert_encoder<float> encoder(config);
    encoder.load(weights);
    return model_folder{dir, config, std::move(weights), std::move(encoder)};
}

/// A float with 9 significant digits: enough to read back the same float32.
inline std::string format_float(float v) {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
    return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

// ---- subcommands: each file registers its flags and runs ----

/// The flags train and pretrain share about running the step loop (several processes, profiling).
struct loop_flags {
    double collective_timeout = 600; // seconds a multi-process collective may wait
    std::string overlap = "auto";    // gradient sum during backward: auto, on, off
    bool profile = false;            // print the per-op profile at the end
};
inline void add_loop_flags(CLI::App* cmd, loop_flags& f) {
    cmd->add_option("--collective-timeout", f.collective_timeout,
                    "Under mpirun: seconds a process waits for the others in a collective before giving up with an error")
        ->capture_default_str();
    cmd->add_option("--overlap", f.overlap,
                    "Under mpirun: sum the gradients over processes during the backward pass (on), after it (off), or on only when some "
                    "processes run on other machines (auto)")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "on", "off"}));
    cmd->add_flag("--profile", f.profile, "Print the time of every op (forward, backward) and of the loop's sections when the run ends");
}

/// --dtype: the precision of the GEMMs (weights, optimizer state and element-wise ops stay f32).
inline void add_dtype_flag(CLI::App* cmd, std::string& dtype) {
    cmd->add_option("--dtype", dtype,
                    "GEMM precision: f32, or bf16 (mixed precision: operands rounded to bf16 and multiplied on AVX512-BF16 where the "
                    "CPU has it, f32 accumulation; weights, optimizer and element-wise ops stay f32)")
        ->capture_default_str()
        ->check(CLI::IsMember({"f32", "bf16"}));
}
inline sb::matmul_precision matmul_precision_of(const std::string& dtype) {
    return dtype == "bf16" ? sb::matmul_precision::bf16 : sb::matmul_precision::f32;
}

struct inspect_options {
    std::string model;
    bool json = false;
};
void add_inspect(CLI::App& app, inspect_options& o);
int run_inspect(const inspect_options& o);

struct embed_options {
    std::string model;
    // Signed, so that `--layers -1` is reported as -1, not as 2^64 - 1.
    std::int64_t layers = 0;     // unset: every layer
    std::int64_t dim = 0;        // unset: the full hidden size
    std::string pooling = "mean"; // unset: the folder's Pooling module, else mean
    bool normalize = false;       // unset: on when modules.json has a Normalize module
    std::int64_t max_length = 0;  // unset: sentence_bert_config.json's max_seq_length, else max_position_embeddings
    std::int64_t batch_size = 32;
    std::string input = "-";
    std::string format = "tsv";
    std::string output;           // empty: stdout
    std::string backend;          // empty: the fastest compiled in
    std::int64_t threads = 0;     // unset: STARBUCKS_NUM_THREADS, else the OpenMP default
    std::string dtype = "f32";    // bf16: mixed-precision GEMMs
    // Which of the flags above were given (0 is then out of range, not "the default").
    const CLI::Option* layers_flag = nullptr;
    const CLI::Option* dim_flag = nullptr;
    const CLI::Option* max_length_flag = nullptr;
    const CLI::Option* pooling_flag = nullptr;
    const CLI::Option* normalize_flag = nullptr;
    const CLI::Option* threads_flag = nullptr;
};
void add_embed(CLI::App& app, embed_options& o);
int run_embed(const embed_options& o);

struct export_options {
    std::string model;
    std::string out;
    std::int64_t layers = 0; // unset: every layer
    std::int64_t dim = 0;    // unset: the full hidden size
    bool force = false;
    bool quiet = false;      // no summary line on stdout (train exports its result itself)
    bool allow_untrained = false;
    const CLI::Option* layers_flag = nullptr;
    const CLI::Option* dim_flag = nullptr;
};
void add_export(CLI::App& app, export_options& o);
int run_export(const export_options& o);

struct train_options {
    std::string task = "sts";
    std::string model, train, out;
    std::string strategy = "starbucks";
    std::string loss = "cosent";
    std::string pairs;               // empty: the default list for the model
    std::int64_t epochs = 1;
    std::size_t max_steps = 0;
    std::int64_t batch_size = 16;
    std::int64_t accumulation = 1;
    std::int64_t max_length = 0;     // unset: min(128, max_position_embeddings)
    double lr = 5e-5;
    double warmup = 0.1;
    std::string schedule = "linear";
    double weight_decay = 0.01;
    double max_grad_norm = 1.0;
    double kl_weight = 0.3;
    bool detach_teacher = false;
    bool twodmse_corrected = false;
    bool no_dropout = false;
    std::uint64_t seed = 42;
    std::string dtype = "f32";
    std::string backend;
    std::int64_t threads = 0;
    std::size_t save_steps = 0;
    std::int64_t keep_checkpoints = 2;
    std::string resume;
    bool skip_bad_rows = false;
    bool skip_non_finite = false;
    // --task retrieval
    std::int64_t group_size = 8;
    std::int64_t query_max_length = 32;
    std::int64_t passage_max_length = 196;
    std::string query_prefix, passage_prefix;
    std::string corpus, queries, qrels;   // training from judgments, negatives mined
    std::int64_t negatives = 30;          // mined per query
    std::int64_t grad_cache_chunk = 0;    // 0: off
    std::string max_memory;               // empty: the memory available now
    loop_flags loop;                      // --collective-timeout, --overlap, --profile
    const CLI::Option* kl_weight_flag = nullptr;
};
void add_train(CLI::App& app, train_options& o);
/// @brief Exports the first `layers` layers of the model folder `src` (a training checkpoint)
/// as a complete sentence-transformers / Hugging Face folder `out` (replaced if present).
void export_model(const std::filesystem::path& src, const std::filesystem::path& out, std::size_t layers);
int run_train(const train_options& o);

struct pretrain_options {
    std::string init, config, vocab, out;
    std::vector<std::string> corpus;
    std::string corpus_layout = "lines";
    std::string objective = "smae";
    std::string pairs;               // empty: the default list for the model
    std::int64_t max_length = 0;     // unset: min(128, max_position_embeddings)
    std::size_t steps = 0;
    std::int64_t epochs = 1;
    std::int64_t batch_size = 16;
    std::int64_t accumulation = 1;
    double lr = 1e-4;
    double warmup = 0.05;
    double weight_decay = 0.001;
    double max_grad_norm = 1.0;
    bool no_dropout = false;
    std::uint64_t seed = 42;
    std::string dtype = "f32";
    std::string backend;
    std::int64_t threads = 0;
    std::size_t save_steps = 0;
    std::int64_t keep_checkpoints = 2;
    std::string resume;
    std::string max_memory;          // empty: the memory available now
    loop_flags loop;                 // --collective-timeout, --overlap, --profile
    bool skip_bad_lines = false;
    bool stop_on_non_finite = false;
    bool quiet = false;
};
void add_pretrain(CLI::App& app, pretrain_options& o);
int run_pretrain(const pretrain_options& o);

struct eval_options {
    std::string model;
    std::vector<std::string> data;
    bool all_sts = false;
    std::string pairs;
    bool grid = false;
    std::string out;
    std::int64_t batch_size = 64;
    std::int64_t max_length = 128;
    std::string pooling;             // empty: the model's
    std::string backend;
    std::int64_t threads = 0;
    std::string dtype = "f32";       // bf16: mixed-precision GEMMs
    bool skip_bad_rows = false;
};
struct eval_retrieval_options {
    std::string model;
    std::string data;                // built-in set: scifact or dl19-mini
    std::string corpus, queries, qrels;
    std::string pairs;
    bool grid = false;
    std::string out;
    std::int64_t depth = 1000;
    std::int64_t batch_size = 64;
    std::int64_t query_max_length = 0;   // unset: 64, capped by the model
    std::int64_t passage_max_length = 0; // unset: the folder's max_seq_length, else 256, capped by the model
    std::string pooling;                 // empty: the model's
    std::string similarity;              // empty: the model's
    std::string query_prefix, passage_prefix;
    std::int64_t rel_level = 0;          // unset: 1 (2 for dl19-mini)
    bool all_queries = false;
    bool per_query = false;              // per_query/<set>-<size>.tsv under --out
    std::string save_embeddings;         // folder to keep the corpus vectors in
    std::string embeddings;              // folder of corpus vectors to search instead of encoding
    std::string backend;
    std::int64_t threads = 0;
    std::string dtype = "f32";       // bf16: mixed-precision GEMMs
    bool skip_bad_rows = false;
};
void add_eval(CLI::App& app, eval_options& o, eval_retrieval_options& r);
int run_eval_sts(const eval_options& o);
int run_eval_retrieval(const eval_retrieval_options& o);

} // namespace starbucks_cli
