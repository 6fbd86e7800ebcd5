// SPDX-License-Identifier: Apache-2.0
// What a sentence-transformers model folder says about embedding (modules.json, the Pooling
// config, Normalize, sentence_bert_config.json): the defaults of `embed` and `eval retrieval`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <starbucks/text/wordpiece.hpp>

#include "common.hpp"
#include "runtime.hpp"

namespace starbucks_cli {

/// What a sentence-transformers folder says about embedding; every field unset in a plain
/// Hugging Face folder (no modules.json).
struct folder_defaults {
    std::optional<std::string> pooling;     // "mean" or "cls"
    std::string pooling_file;               // the Pooling config, when its mode cannot be followed
    std::string pooling_problem;            // why (then only --pooling decides)
    bool normalize = false;                 // a Normalize module follows the pooling
    std::optional<std::size_t> max_length;  // sentence_bert_config.json max_seq_length
    bool lower_case = false;                // sentence_bert_config.json do_lower_case
};

inline nlohmann::json read_json_object(const std::filesystem::path& path) {
    const std::string name = sb::text::detail::display_name(path);
    nlohmann::json j = sb::text::detail::parse_json(sb::text::detail::read_file(path, std::uintmax_t{1} << 20), name);
    if (!j.is_object() && !j.is_array()) throw sb::format_error(name, "", "top level must be a JSON object or array");
    return j;
}

/// @brief The bool at `key` of object `j` (absent: false). @throws format_error when not a bool.
inline bool json_flag(const nlohmann::json& j, const char* key, const std::string& name) {
    const auto* v = sb::text::detail::member(j, key);
    if (v == nullptr || v->is_null()) return false;
    if (!v->is_boolean()) throw sb::format_error(name, std::string("key \"") + key + "\"", "must be true or false");
    return v->get<bool>();
}

/// @brief Pooling mode from a sentence-transformers Pooling config (1_Pooling/config.json): the
/// `pooling_mode` string that sentence-transformers >= 5 writes, else the six boolean
/// `pooling_mode_*` keys of older versions. Exactly one mode must be on, and it must be mean or
/// cls; anything else is recorded as a problem that only an explicit --pooling resolves.
inline void read_pooling(const std::filesystem::path& path, const sb::nn::bert_config& config, folder_defaults& d) {
    const std::string name = sb::text::detail::display_name(path);
    const nlohmann::json j = read_json_object(path);
    if (!j.is_object()) throw sb::format_error(name, "", "top level must be a JSON object");
    for (const char* key : {"word_embedding_dimension", "embedding_dimension"})
        if (const auto* w = sb::text::detail::member(j, key); w != nullptr) {
            if (!w->is_number_unsigned() || w->get<std::uint64_t>() != config.hidden_size)
                throw sb::model_error(name, std::string("key \"") + key + "\"",
                                      w->dump() + " disagrees with config.json's hidden_size " + std::to_string(config.hidden_size));
        }
    static constexpr std::pair<const char*, const char*> modes[] = {
        {"pooling_mode_mean_tokens", "mean"},        {"pooling_mode_cls_token", "cls"},
        {"pooling_mode_max_tokens", "max"},          {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"},
        {"pooling_mode_weightedmean_tokens", "weightedmean"}, {"pooling_mode_lasttoken", "lasttoken"}};
    std::vector<std::string> on;
    if (const auto* mode = sb::text::detail::member(j, "pooling_mode"); mode != nullptr) {
        if (!mode->is_string()) throw sb::format_error(name, "key \"pooling_mode\"", "must be a string");
        on.push_back(mode->get<std::string>());
    } else {
        for (const auto& [key, mode_name] : modes)
            if (json_flag(j, key, name)) on.emplace_back(mode_name);
    }
    if (on.size() == 1 && (on[0] == "mean" || on[0] == "cls")) {
        d.pooling = on[0];
        return;
    }
    d.pooling_file = name;
    d.pooling_problem = on.empty() ? "sets no pooling mode" : "asks for pooling " + joined(on) + "; starbucks does mean or cls";
}

/// @brief Reads modules.json (if any), the Pooling module's config and sentence_bert_config.json.
/// @throws format_error (malformed JSON, wrong types), unsupported_error (a module other than
/// Transformer / Pooling / Normalize, or a Transformer outside the folder's root), model_error
/// (a width or length that disagrees with config.json).
inline folder_defaults read_folder_defaults(const std::filesystem::path& dir, const sb::nn::bert_config& config) {
    folder_defaults d;
    std::error_code ec;
    const auto modules_path = dir / "modules.json";
    if (std::filesystem::exists(modules_path, ec)) {
        const std::string name = sb::text::detail::display_name(modules_path);
        const nlohmann::json modules = read_json_object(modules_path);
        if (!modules.is_array()) throw sb::format_error(name, "", "top level must be an array of modules");
        for (std::size_t i = 0; i < modules.size(); ++i) {
            const auto& m = modules[i];
            const std::string object = "module " + std::to_string(i);
            const auto* type = m.is_object() ? sb::text::detail::member(m, "type") : nullptr;
            const auto* path = m.is_object() ? sb::text::detail::member(m, "path") : nullptr;
            if (type == nullptr || !type->is_string() || path == nullptr || !path->is_string())
                throw sb::format_error(name, object, "needs a string \"type\" and a string \"path\"");
            const std::string t = type->get<std::string>(), p = path->get<std::string>();
            const std::string kind = t.substr(t.rfind('.') == std::string::npos ? 0 : t.rfind('.') + 1);
            if (kind == "Transformer") {
                if (!p.empty())
                    throw sb::unsupported_error(name, object, "the Transformer lives in \"" + p + "\"; pass --model " + (dir / p).string());
            } else if (kind == "Pooling") {
                read_pooling(dir / p / "config.json", config, d);
            } else if (kind == "Normalize") {
                d.normalize = true;
            } else {
                throw sb::unsupported_error(name, object, "type \"" + t + "\": starbucks runs Transformer, Pooling and Normalize only");
            }
        }
    }
    const auto st_path = dir / "sentence_bert_config.json";
    if (std::filesystem::exists(st_path, ec)) {
        const std::string name = sb::text::detail::display_name(st_path);
        const nlohmann::json j = read_json_object(st_path);
        if (!j.is_object()) throw sb::format_error(name, "", "top level must be a JSON object");
        if (const auto* v = sb::text::detail::member(j, "max_seq_length"); v != nullptr && !v->is_null()) {
            if (!v->is_number_unsigned() || v->get<std::uint64_t>() < 2)
                throw sb::format_error(name, "key \"max_seq_length\"", v->dump() + " is not a token count >= 2");
            if (v->get<std::uint64_t>() > config.max_position_embeddings)
                throw sb::model_error(name, "key \"max_seq_length\"",
                                      v->dump() + " exceeds config.json's max_position_embeddings " + std::to_string(config.max_position_embeddings));
            d.max_length = static_cast<std::size_t>(v->get<std::uint64_t>());
        }
        d.lower_case = json_flag(j, "do_lower_case", name);
    }
    // sentence-transformers >= 5 keeps max_seq_length as the tokenizer's model_max_length (and
    // reads it from there when sentence_bert_config.json has none); only for its folders, and
    // only when the value fits the model (HF folders often say 512 or a huge "unset" value).
    const auto tokenizer_config = dir / "tokenizer_config.json";
    if (!d.max_length && std::filesystem::exists(modules_path, ec) && std::filesystem::exists(tokenizer_config, ec)) {
        const nlohmann::json j = read_json_object(tokenizer_config);
        const auto* v = j.is_object() ? sb::text::detail::member(j, "model_max_length") : nullptr;
        if (v != nullptr && v->is_number_unsigned() && v->get<std::uint64_t>() >= 2 && v->get<std::uint64_t>() <= config.max_position_embeddings)
            d.max_length = static_cast<std::size_t>(v->get<std::uint64_t>());
    }
    return d;
}

} // namespace starbucks_cli
