// SPDX-License-Identifier: Apache-2.0
// io::read_bert_config: a Hugging Face BERT config.json, validated, as an nn::bert_config.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "../nn/bert_config.hpp"
#include "detail/printable.hpp"
#include "detail/strict_json.hpp"
#include "detail/utf8.hpp"
#include "mapped_file.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io {

/// A config.json larger than this is not a config (label maps of real models stay far below).
inline constexpr std::uint64_t max_config_bytes = std::uint64_t{16} << 20;

namespace detail {

inline std::string key_object(std::string_view key) { return "key " + quote_text(key); }

/// A required or optional positive integer no larger than `limit`.
inline std::size_t config_size(const nlohmann::json& j, const std::string& label, const char* key, std::uint64_t limit,
                               std::optional<std::size_t> fallback = std::nullopt) {
    const auto it = j.find(key);
    if (it == j.end()) {
        if (fallback) return *fallback;
        throw format_error(label, key_object(key), "missing; a BERT config needs it");
    }
    if (it->is_number_float()) throw format_error(label, key_object(key), "is " + it->dump() + ", not an integer");
    if (!it->is_number()) throw format_error(label, key_object(key), "is " + std::string(json_kind_name(it->type())) + ", not an integer");
    if (it->is_number_integer() && !it->is_number_unsigned())
        throw format_error(label, key_object(key), "is " + it->dump() + "; it must be positive");
    const std::uint64_t v = it->get<std::uint64_t>();
    if (v == 0) throw format_error(label, key_object(key), "is 0; it must be positive");
    if (v > limit) throw format_error(label, key_object(key), "is " + it->dump() + "; the limit is " + std::to_string(limit));
    return static_cast<std::size_t>(v);
}

/// An optional real number checked by `ok`, which `rule` describes.
template <class Ok>
double config_real(const nlohmann::json& j, const std::string& label, const char* key, double fallback, Ok ok, const char* rule) {
    const auto it = j.find(key);
    if (it == j.end()) return fallback;
    if (!it->is_number()) throw format_error(label, key_object(key), "is " + std::string(json_kind_name(it->type())) + ", not a number");
    const double v = it->get<double>();
    if (!ok(v)) throw format_error(label, key_object(key), "is " + it->dump() + "; " + rule);
    return v;
}

/// An optional string that must equal `supported` when present.
inline void config_choice(const nlohmann::json& j, const std::string& label, const char* key, std::string_view supported,
                          std::string_view what) {
    const auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_string()) throw format_error(label, key_object(key), "is " + std::string(json_kind_name(it->type())) + ", not a string");
    const std::string& v = it->get_ref<const std::string&>();
    if (v != supported)
        throw unsupported_error(label, key_object(key),
                                quote_text(v) + " is not supported; only " + quote_text(supported) + std::string(what));
}

} // namespace detail

/// @brief Parses the text of a BERT config.json; `label` names it in errors.
///
/// Required: hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size,
/// max_position_embeddings (positive integers within generous limits). Optional: type_vocab_size
/// (2), layer_norm_eps (1e-12, finite > 0), hidden_dropout_prob and attention_probs_dropout_prob
/// (0.1, in [0, 1)), hidden_act ("gelu", the erf form), model_type ("bert"),
/// position_embedding_type ("absolute"). Other keys are ignored.
/// @throws format_error (syntax, missing key, wrong type or range), unsupported_error (an
/// activation or position-embedding variant this library does not run), model_error (hidden_size not divisible by heads).
inline nn::bert_config parse_bert_config(std::string_view text, const std::string& label) {
    if (const auto bad = detail::find_invalid_utf8(text))
        throw format_error(label + "@" + std::to_string(bad->offset), "", "not valid UTF-8: " + std::string(bad->reason));
    detail::check_strict_json(text, detail::strict_json_options{label + "@", 64, /*spaces_only_padding=*/false});
    const nlohmann::json j = nlohmann::json::parse(text);

    nn::bert_config c;
    c.hidden_size = detail::config_size(j, label, "hidden_size", std::uint64_t{1} << 16);
    c.num_hidden_layers = detail::config_size(j, label, "num_hidden_layers", 1024);
    c.num_attention_heads = detail::config_size(j, label, "num_attention_heads", std::uint64_t{1} << 12);
    c.intermediate_size = detail::config_size(j, label, "intermediate_size", std::uint64_t{1} << 20);
    c.vocab_size = detail::config_size(j, label, "vocab_size", std::uint64_t{1} << 24);
    c.max_position_embeddings = detail::config_size(j, label, "max_position_embeddings", std::uint64_t{1} << 20);
    c.type_vocab_size = detail::config_size(j, label, "type_vocab_size", std::uint64_t{1} << 16, 2);
    c.layer_norm_eps = detail::config_real(j, label, "layer_norm_eps", 1e-12, [](double v) { return std::isfinite(v) && v > 0; },
                                           "it must be finite and > 0");
    auto probability = [](double v) { return v >= 0 && v < 1; };
    c.hidden_dropout_prob = detail::config_real(j, label, "hidden_dropout_prob", 0.1, probability, "it must be in [0, 1)");
    c.attention_probs_dropout_prob =
        detail::config_real(j, label, "attention_probs_dropout_prob", 0.1, probability, "it must be in [0, 1)");
    detail::config_choice(j, label, "hidden_act", "gelu", " (the erf form) is implemented");
    detail::config_choice(j, label, "model_type", "bert", " models are read");
    detail::config_choice(j, label, "position_embedding_type", "absolute", " positions are implemented");
    if (c.hidden_size % c.num_attention_heads != 0)
        throw model_error(label, detail::key_object("num_attention_heads"),
                          "hidden_size " + std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
                              std::to_string(c.num_attention_heads));
    return c;
}

/// @brief Reads and validates a BERT config.json. @throws io_error when it cannot be read, and as
/// parse_bert_config.
inline nn::bert_config read_bert_config(const std::filesystem::path& path) {
    const std::string label = path.string();
    mapped_file file(path, read_mode::read);
    if (file.size() > max_config_bytes)
        throw format_error(label, "", "config has " + std::to_string(file.size()) + " bytes; the limit is " + std::to_string(max_config_bytes));
    std::string text(static_cast<std::size_t>(file.size()), '\0');
    file.read(0, std::as_writable_bytes(std::span(text.data(), text.size())));
    return parse_bert_config(text, label);
}

} // namespace io
STARBUCKS_NAMESPACE_END
