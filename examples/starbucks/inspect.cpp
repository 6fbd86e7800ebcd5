// SPDX-License-Identifier: Apache-2.0
// starbucks inspect: checks a Hugging Face BERT model folder and describes it.
//
// What it does: reads config.json (io::read_bert_config), validates model.safetensors
// (io::safetensors_file: header, dtypes, byte layout), then builds the encoder the config
// describes and loads it, so a missing, mis-shaped or unknown tensor is a model_error naming it.
// When the folder has vocab.txt or tokenizer.json, the tokenizer is loaded and checked too.
// Data: any folder with config.json + model.safetensors, e.g. tests/data/tiny-bert-ner.
// Run: starbucks inspect --model tests/data/tiny-bert-ner [--json]
// Expect: the config, one line per tensor (name, dtype, shape) and the parameter count, exit 0;
// a broken folder gives one `starbucks::...` line on stderr and exit 2 (4 when unreadable).
#include <cstdint>
#include <cstdio>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <starbucks/text/wordpiece.hpp>

#include "common.hpp"

namespace starbucks_cli {

void add_inspect(CLI::App& app, inspect_options& o) {
    auto* cmd = app.add_subcommand("inspect", "Validate a model folder and print its config, tensors and parameter count");
    cmd->add_option("--model,model", o.model, "Model folder (config.json, model.safetensors)")->required();
    cmd->add_flag("--json", o.json, "Print one JSON object instead of text");
}

namespace {

std::string shape_text(const sb::shape& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.rank; ++i) out += (i ? ", " : "") + std::to_string(s.dims[i]);
    return out + "]";
}

/// Elements of every encoder parameter (what the model uses, not the heads it drops).
std::uint64_t encoder_parameters(const sb::nn::bert_encoder<float>& m) {
    std::uint64_t n = 0;
    for (const auto& [name, value] : m.parameters()) std::visit([&](const auto& v) { n += v.value().size(); }, value);
    return n;
}

} // namespace

int run_inspect(const inspect_options& o) {
    const model_folder m = open_model(o.model);
    const auto& c = m.config;

    // The tokenizer is optional for inspect, but checked when present.
    std::error_code ec;
    const bool has_tokenizer = std::filesystem::exists(m.dir / "vocab.txt", ec) || std::filesystem::exists(m.dir / "tokenizer.json", ec);
    std::size_t vocab_tokens = 0;
    if (has_tokenizer) vocab_tokens = sb::text::wordpiece::load(m.dir).vocabulary().size();

    std::uint64_t file_elements = 0;
    for (const auto& t : m.weights.tensors()) file_elements += t.size();
    const std::uint64_t used = encoder_parameters(m.encoder);

    if (o.json) {
        nlohmann::json j;
        j["model"] = m.dir.string();
        j["config"] = {{"hidden_size", c.hidden_size},
                       {"num_hidden_layers", c.num_hidden_layers},
                       {"num_attention_heads", c.num_attention_heads},
                       {"intermediate_size", c.intermediate_size},
                       {"vocab_size", c.vocab_size},
                       {"max_position_embeddings", c.max_position_embeddings},
                       {"type_vocab_size", c.type_vocab_size},
                       {"layer_norm_eps", c.layer_norm_eps}};
        auto tensors = nlohmann::json::array();
        for (const auto& t : m.weights.tensors())
            tensors.push_back({{"name", t.name}, {"dtype", std::string(sb::io::to_string(t.dtype))}, {"shape", std::vector<std::size_t>(t.dims.dims.begin(), t.dims.dims.begin() + static_cast<std::ptrdiff_t>(t.dims.rank))}});
        j["tensors"] = std::move(tensors);
        j["encoder_parameters"] = used;
        j["file_elements"] = file_elements;
        j["tokenizer"] = has_tokenizer ? nlohmann::json{{"vocab_tokens", vocab_tokens}} : nlohmann::json(nullptr);
        j["valid"] = true;
        std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return 0;
    }

    std::printf("model: %s (valid)\n", m.dir.string().c_str());
    std::printf("config: hidden_size=%zu num_hidden_layers=%zu num_attention_heads=%zu intermediate_size=%zu\n", c.hidden_size,
                c.num_hidden_layers, c.num_attention_heads, c.intermediate_size);
    std::printf("        vocab_size=%zu max_position_embeddings=%zu type_vocab_size=%zu layer_norm_eps=%g\n", c.vocab_size,
                c.max_position_embeddings, c.type_vocab_size, c.layer_norm_eps);
    std::printf("tensors: %zu in model.safetensors\n", m.weights.tensor_count());
    for (const auto& t : m.weights.tensors())
        std::printf("  %-60s %-4s %s\n", t.name.c_str(), std::string(sb::io::to_string(t.dtype)).c_str(), shape_text(t.dims).c_str());
    std::printf("parameters: %llu used by the encoder, %llu elements in the file\n", static_cast<unsigned long long>(used),
                static_cast<unsigned long long>(file_elements));
    if (has_tokenizer) {
        std::printf("tokenizer: %zu tokens", vocab_tokens);
        if (vocab_tokens > c.vocab_size)
            std::printf(" (more than vocab_size %zu: text producing ids >= %zu cannot be embedded)", c.vocab_size, c.vocab_size);
        std::printf("\n");
    } else {
        std::printf("tokenizer: none (embed needs vocab.txt or tokenizer.json)\n");
    }
    return 0;
}

} // namespace starbucks_cli
