// SPDX-License-Identifier: Apache-2.0
// io::read_st_folder: what a sentence-transformers model folder says about embedding (modules.json,
// the Pooling module's config.json, Normalize, sentence_bert_config.json), validated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "../nn/bert_config.hpp"
#include "detail/printable.hpp"
#include "detail/strict_json.hpp"
#include "detail/utf8.hpp"
#include "mapped_file.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io {

/// The JSON files of a sentence-transformers folder are small; a larger one is refused unread.
inline constexpr std::uint64_t max_st_json_bytes = std::uint64_t{1} << 20;

/// @brief What a sentence-transformers folder says about embedding, for the defaults of a
/// program's flags; every field stays unset in a plain Hugging Face folder (no modules.json).
struct st_folder_defaults {
    /// "mean" or "cls", from the Pooling module's config.
    std::optional<std::string> pooling;
    /// The Pooling config, named as errors name it, when its mode cannot be followed.
    std::string pooling_file;
    /// Why the mode cannot be followed ("asks for pooling max; ..."): then only the caller's own
    /// choice of pooling decides.
    std::string pooling_problem;
    /// A Normalize module is listed.
    bool normalize = false;
    /// Tokens per text: sentence_bert_config.json's max_seq_length, else (only in a folder with
    /// modules.json) tokenizer_config.json's model_max_length when it fits the model.
    std::optional<std::size_t> max_length;
    /// sentence_bert_config.json's do_lower_case.
    bool lower_case = false;
};

/// @brief Gives the text of the file at `relative_path` inside the folder ("modules.json",
/// "1_Pooling/config.json"), or nothing when the folder has no such file.
using st_file_source = std::function<std::optional<std::string>(const std::filesystem::path& relative_path)>;

namespace detail {

/// A file name as errors print it: control bytes and ill-formed UTF-8 as hex escapes, cut after 4096 bytes.
inline std::string st_display_name(const std::filesystem::path& path) { return escaped(path.string(), 4096, /*quotes=*/false); }

/// A JSON value as an error shows it: compact, escaped, cut after 80 bytes.
inline std::string st_excerpt(const nlohmann::json& v) {
    return escaped(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 80, /*quotes=*/false);
}

inline const nlohmann::json* st_member(const nlohmann::json& object, const char* key) {
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

inline std::string st_key(const char* key) { return std::string("key \"") + key + "\""; }

/// The bool at `key` of object `j` (absent or null: false). @throws format_error when not a bool.
inline bool st_flag(const nlohmann::json& j, const char* key, const std::string& name) {
    const auto* v = st_member(j, key);
    if (v == nullptr || v->is_null()) return false;
    if (!v->is_boolean()) throw format_error(name, st_key(key), "must be true or false");
    return v->get<bool>();
}

/// The whole file at `path` when it exists and holds at most max_st_json_bytes.
/// @throws io_error when it exists but cannot be read; format_error when it is too large.
inline std::optional<std::string> read_st_file(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::nullopt;
    mapped_file file(path, read_mode::read);
    if (file.size() > max_st_json_bytes)
        throw format_error(st_display_name(path),
                           "file is " + std::to_string(file.size()) + " bytes; the limit is " + std::to_string(max_st_json_bytes));
    std::string text(static_cast<std::size_t>(file.size()), '\0');
    file.read(0, std::as_writable_bytes(std::span(text.data(), text.size())));
    return text;
}

} // namespace detail

/// @brief Parses one JSON file of a sentence-transformers folder strictly; `name` names it in errors.
///
/// The text must be valid UTF-8 holding one JSON object or array (RFC 8259: no comments,
/// trailing commas or NaN), nested at most 64 levels, with no key twice in one object.
/// @throws format_error naming the byte offset of the first fault.
inline nlohmann::json parse_st_json(std::string_view text, const std::string& name) {
    if (const auto bad = detail::find_invalid_utf8(text))
        throw format_error(name + "@" + std::to_string(bad->offset), "", "not valid UTF-8: " + std::string(bad->reason));
    detail::strict_json_options options{name + "@", 64, /*spaces_only_padding=*/false};
    options.array_allowed = true;
    detail::check_strict_json(text, std::move(options));
    return nlohmann::json::parse(text);
}

namespace detail {

/// The Pooling config (1_Pooling/config.json): the `pooling_mode` string that
/// sentence-transformers >= 5 writes, else the six boolean `pooling_mode_*` keys of older
/// versions. Exactly one mode must be on, and it must be mean or cls; anything else is recorded
/// as a problem that only the caller's explicit choice resolves.
inline void parse_st_pooling(std::string_view text, const std::string& name, const nn::bert_config& config, st_folder_defaults& d) {
    const nlohmann::json j = parse_st_json(text, name);
    if (!j.is_object()) throw format_error(name, "", "top level must be a JSON object");
    for (const char* key : {"word_embedding_dimension", "embedding_dimension"})
        if (const auto* w = st_member(j, key); w != nullptr) {
            if (!w->is_number_unsigned() || w->get<std::uint64_t>() != config.hidden_size)
                throw model_error(name, st_key(key),
                                  st_excerpt(*w) + " disagrees with config.json's hidden_size " + std::to_string(config.hidden_size));
        }
    static constexpr std::pair<const char*, const char*> modes[] = {
        {"pooling_mode_mean_tokens", "mean"},        {"pooling_mode_cls_token", "cls"},
        {"pooling_mode_max_tokens", "max"},          {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"},
        {"pooling_mode_weightedmean_tokens", "weightedmean"}, {"pooling_mode_lasttoken", "lasttoken"}};
    std::vector<std::string> on;
    if (const auto* mode = st_member(j, "pooling_mode"); mode != nullptr) {
        if (!mode->is_string()) throw format_error(name, st_key("pooling_mode"), "must be a string");
        on.push_back(mode->get<std::string>());
    } else {
        for (const auto& [key, mode_name] : modes)
            if (st_flag(j, key, name)) on.emplace_back(mode_name);
    }
    if (on.size() == 1 && (on[0] == "mean" || on[0] == "cls")) {
        d.pooling = on[0];
        return;
    }
    d.pooling_file = name;
    std::string listed;
    for (const auto& mode : on) listed += (listed.empty() ? "" : ", ") + escaped(mode, 200, /*quotes=*/false);
    d.pooling_problem = on.empty() ? "sets no pooling mode" : "asks for pooling " + listed + "; starbucks does mean or cls";
}

} // namespace detail

/// @brief Reads one JSON file of a sentence-transformers folder (config_sentence_transformers.json,
/// say) and parses it as parse_st_json does.
/// @throws io_error when it is missing or cannot be read; format_error when it holds more than
/// max_st_json_bytes, and as parse_st_json.
inline nlohmann::json read_st_json(const std::filesystem::path& path) {
    const std::string name = detail::st_display_name(path);
    const std::optional<std::string> text = detail::read_st_file(path);
    if (!text) throw io_error(name, "cannot read: No such file or directory");
    return parse_st_json(*text, name);
}

/// @brief What the files of a sentence-transformers folder say about embedding, with the files
/// given by `files` (from memory, say); errors name each file as `folder / relative path`.
///
/// modules.json, when present, must be an array of modules, each with a string "type" and
/// "path": a Transformer at the folder's root, at most one Pooling module (its config.json, in
/// the module's path, must then exist) and Normalize modules. sentence_bert_config.json, when
/// present, may set max_seq_length (a token count from 2 to the model's max_position_embeddings)
/// and do_lower_case (a bool). In a folder with modules.json and no max_seq_length,
/// tokenizer_config.json's model_max_length is taken when it fits the model.
/// @throws format_error (malformed JSON, wrong types), unsupported_error (a module other than
/// Transformer, Pooling or Normalize, a Transformer outside the folder's root, a second Pooling
/// module), model_error (a width or length that disagrees with `config`), io_error (a Pooling
/// config that is missing or unreadable), and whatever `files` throws.
inline st_folder_defaults parse_st_folder(const st_file_source& files, const nn::bert_config& config,
                                          const std::filesystem::path& folder = {}) {
    st_folder_defaults d;
    const auto name_of = [&](const std::filesystem::path& relative) { return detail::st_display_name(folder / relative); };
    const std::optional<std::string> modules_text = files("modules.json");
    if (modules_text) {
        const std::string name = name_of("modules.json");
        const nlohmann::json modules = parse_st_json(*modules_text, name);
        if (!modules.is_array()) throw format_error(name, "", "top level must be an array of modules");
        bool pooled = false;
        for (std::size_t i = 0; i < modules.size(); ++i) {
            const auto& m = modules[i];
            const std::string object = "module " + std::to_string(i);
            const auto* type = m.is_object() ? detail::st_member(m, "type") : nullptr;
            const auto* path = m.is_object() ? detail::st_member(m, "path") : nullptr;
            if (type == nullptr || !type->is_string() || path == nullptr || !path->is_string())
                throw format_error(name, object, "needs a string \"type\" and a string \"path\"");
            const std::string& t = type->get_ref<const std::string&>();
            const std::string& p = path->get_ref<const std::string&>();
            if (p.find('\0') != std::string::npos) throw format_error(name, object, "path " + detail::quote_text(p) + " holds a NUL byte");
            const std::string kind = t.substr(t.rfind('.') == std::string::npos ? 0 : t.rfind('.') + 1);
            if (kind == "Transformer") {
                if (!p.empty())
                    throw unsupported_error(name, object, "the Transformer lives in " + detail::quote_text(p) + "; pass --model " +
                                                              detail::st_display_name(folder / p));
            } else if (kind == "Pooling") {
                // One pooling step per model; a list of thousands would otherwise re-read a config
                // of up to a megabyte for each.
                if (pooled) throw unsupported_error(name, object, "a second Pooling module; starbucks runs one");
                pooled = true;
                const std::filesystem::path relative = std::filesystem::path(p) / "config.json";
                const std::optional<std::string> pooling_text = files(relative);
                if (!pooling_text)
                    throw io_error(name_of(relative), "cannot read: No such file or directory (" + name + " names a Pooling module in " +
                                                          detail::quote_text(p) + ")");
                detail::parse_st_pooling(*pooling_text, name_of(relative), config, d);
            } else if (kind == "Normalize") {
                d.normalize = true;
            } else {
                throw unsupported_error(name, object, "type " + detail::quote_text(t) + ": starbucks runs Transformer, Pooling and Normalize only");
            }
        }
    }
    if (const std::optional<std::string> text = files("sentence_bert_config.json")) {
        const std::string name = name_of("sentence_bert_config.json");
        const nlohmann::json j = parse_st_json(*text, name);
        if (!j.is_object()) throw format_error(name, "", "top level must be a JSON object");
        if (const auto* v = detail::st_member(j, "max_seq_length"); v != nullptr && !v->is_null()) {
            if (!v->is_number_unsigned() || v->get<std::uint64_t>() < 2)
                throw format_error(name, detail::st_key("max_seq_length"), detail::st_excerpt(*v) + " is not a token count >= 2");
            if (v->get<std::uint64_t>() > config.max_position_embeddings)
                throw model_error(name, detail::st_key("max_seq_length"),
                                  detail::st_excerpt(*v) + " exceeds config.json's max_position_embeddings " +
                                      std::to_string(config.max_position_embeddings));
            d.max_length = static_cast<std::size_t>(v->get<std::uint64_t>());
        }
        d.lower_case = detail::st_flag(j, "do_lower_case", name);
    }
    // sentence-transformers >= 5 keeps max_seq_length as the tokenizer's model_max_length (and
    // reads it from there when sentence_bert_config.json has none); only for its folders, and
    // only when the value fits the model (HF folders often say 512 or a huge "unset" value).
    if (!d.max_length && modules_text)
        if (const std::optional<std::string> text = files("tokenizer_config.json")) {
            const nlohmann::json j = parse_st_json(*text, name_of("tokenizer_config.json"));
            const auto* v = j.is_object() ? detail::st_member(j, "model_max_length") : nullptr;
            if (v != nullptr && v->is_number_unsigned() && v->get<std::uint64_t>() >= 2 &&
                v->get<std::uint64_t>() <= config.max_position_embeddings)
                d.max_length = static_cast<std::size_t>(v->get<std::uint64_t>());
        }
    return d;
}

/// @brief What the sentence-transformers folder `dir` says about embedding: parse_st_folder over
/// its files, each read only when it exists and holds at most max_st_json_bytes.
/// @throws as parse_st_folder; io_error when a file exists but cannot be read; format_error when
/// one is too large.
inline st_folder_defaults read_st_folder(const std::filesystem::path& dir, const nn::bert_config& config) {
    return parse_st_folder([&](const std::filesystem::path& relative) { return detail::read_st_file(dir / relative); }, config, dir);
}

} // namespace io
STARBUCKS_NAMESPACE_END
