// SPDX-License-Identifier: Apache-2.0
// What the starbucks subcommands share: opening a model folder and printing numbers.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

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
    sb::io::safetensors_file weights(dir / "model.safetensors");
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
    std::string pooling = "mean";
    bool normalize = false;
    std::int64_t max_length = 0; // unset: max_position_embeddings
    std::int64_t batch_size = 32;
    std::string input = "-";
    std::string format = "tsv";
    std::string output;         // empty: stdout
    // Which of the flags above were given (0 is then out of range, not "the default").
    const CLI::Option* layers_flag = nullptr;
    const CLI::Option* dim_flag = nullptr;
    const CLI::Option* max_length_flag = nullptr;
};
void add_embed(CLI::App& app, embed_options& o);
int run_embed(const embed_options& o);

} // namespace starbucks_cli
