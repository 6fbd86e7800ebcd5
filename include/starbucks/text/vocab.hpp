// SPDX-License-Identifier: Apache-2.0
// A WordPiece vocabulary read from vocab.txt or tokenizer.json, with RELIABILITY.md's checks.
#pragma once

#ifndef STARBUCKS_WITH_TEXT
#error "starbucks/text/vocab.hpp needs utf8proc: enable STARBUCKS_WITH_TEXT and link starbucks::text"
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "detail/files.hpp"
#include "detail/unicode.hpp"
#include "detail/utf8.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace text {

/// Token ids are int64, the index type `starbucks::embedding` takes.
using token_id = std::int64_t;

/// The special tokens every BERT vocab must hold.
inline constexpr std::array<std::string_view, 5> bert_special_tokens{"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"};

namespace detail {

/// Heterogeneous lookup: find a `std::string_view` without building a `std::string`.
struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// What is wrong with a token, and at which byte (0-based); `rule` empty when nothing is.
struct token_problem {
    std::size_t byte = 0;
    std::string rule;
};

/// A token must be non-empty UTF-8 without whitespace or control characters: such a token
/// could never come out of the BERT pre-tokenizer, so it is a corrupt file, not a choice.
inline token_problem check_token(std::string_view token) {
    if (token.empty()) return {0, "empty token"};
    for (std::size_t i = 0; i < token.size();) {
        const utf8_step d = decode_utf8(token, i);
        if (!d.valid) return {i, "invalid UTF-8 at byte " + std::to_string(i + 1)};
        if (is_white_space(d.code_point))
            return {i, "whitespace " + code_point_name(d.code_point) + " at byte " + std::to_string(i + 1) +
                           "; a WordPiece token never holds whitespace"};
        if (category(d.code_point) == UTF8PROC_CATEGORY_CC)
            return {i, "control character " + code_point_name(d.code_point) + " at byte " + std::to_string(i + 1)};
        i += d.size;
    }
    return {};
}

} // namespace detail

/// @brief A WordPiece vocabulary: token i has id i.
///
/// Built only through the factories, which check every token (UTF-8, no whitespace or
/// control characters, no duplicates) and the presence of `[UNK] [CLS] [SEP] [PAD] [MASK]`.
class vocab {
public:
    /// @brief Parses vocab.txt content: one token per line, the line number (from 0) is the id.
    /// A leading BOM and CR before LF are stripped; empty lines after the last token are
    /// ignored, an empty line before it is an error (it would shift every later id).
    /// @param name the file name errors report, as `name:line` or `name:line:byte`.
    /// @throws format_error for an empty file, invalid UTF-8, an empty line mid-file, a duplicate
    /// token (naming both lines), whitespace or control characters, a missing special token.
    static vocab from_txt(std::string_view bytes, const std::string& name) {
        constexpr std::string_view bom = "\xEF\xBB\xBF";
        if (bytes.substr(0, bom.size()) == bom) bytes.remove_prefix(bom.size());
        if (bytes.empty()) throw format_error(name, "empty file; vocab.txt needs one token per line");

        vocab v;
        std::vector<std::size_t> line_of; // 1-based line of each token, for messages
        std::size_t line = 0, first_empty = 0, pos = 0;
        while (pos < bytes.size()) {
            ++line;
            const std::size_t nl = bytes.find('\n', pos);
            std::string_view text = bytes.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
            pos = nl == std::string_view::npos ? bytes.size() : nl + 1;
            if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
            if (text.empty()) {
                if (first_empty == 0) first_empty = line;
                continue;
            }
            if (first_empty != 0)
                throw format_error(name + ":" + std::to_string(first_empty),
                                   "empty line before the token on line " + std::to_string(line) +
                                       "; it would shift the id of every later token");
            const std::string where = name + ":" + std::to_string(line);
            if (const auto p = detail::check_token(text); !p.rule.empty())
                throw format_error(where + ":" + std::to_string(p.byte + 1), "token " + detail::in_quotes(text), p.rule);
            const auto [it, fresh] = v.ids_.try_emplace(std::string(text), static_cast<token_id>(v.tokens_.size()));
            if (!fresh)
                throw format_error(where, "token " + detail::in_quotes(text),
                                   "duplicate of line " + std::to_string(line_of[static_cast<std::size_t>(it->second)]) +
                                       "; each token needs exactly one id");
            v.tokens_.emplace_back(text);
            line_of.push_back(line);
        }
        if (v.tokens_.empty()) throw format_error(name, "no tokens, only empty lines");
        v.finish(name);
        return v;
    }

    /// @brief Reads and parses a vocab.txt file (at most 256 MiB).
    /// @throws io_error when unreadable; format_error as from_txt, naming the path.
    static vocab load_txt(const std::filesystem::path& path) {
        return from_txt(detail::read_file(path), detail::display_name(path));
    }

    /// @brief The vocabulary of a parsed tokenizer.json: `model.vocab`, an object token → id
    /// whose ids run 0..N-1.
    /// @throws unsupported_error when the model is not WordPiece or the normalizer is not
    /// BertNormalizer; format_error for missing or mistyped fields, bad tokens, or ids that are
    /// not exactly 0..N-1 (a repeated id names both tokens).
    static vocab from_tokenizer_json(const nlohmann::json& doc, const std::string& name) {
        check_is_bert_wordpiece(doc, name);
        const nlohmann::json& model = doc.at("model");
        const nlohmann::json* entries = detail::member(model, "vocab");
        if (entries == nullptr || !entries->is_object())
            throw format_error(name, "model.vocab", "must be an object mapping each token to its id");
        const std::size_t n = entries->size();
        std::vector<const std::string*> by_id(n, nullptr);
        for (auto it = entries->begin(); it != entries->end(); ++it) {
            const std::string& token = it.key(); // a key of the map inside `doc`: stable
            const nlohmann::json& id = it.value();
            const std::string object = "model.vocab " + detail::in_quotes(token);
            if (const auto p = detail::check_token(token); !p.rule.empty()) throw format_error(name, object, p.rule);
            if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || static_cast<std::uint64_t>(id.get<std::int64_t>()) >= n)
                throw format_error(name, object, "id " + detail::excerpt(id) + " is not an integer in [0, " + std::to_string(n) + ")");
            const auto k = static_cast<std::size_t>(id.get<std::int64_t>());
            if (by_id[k] != nullptr)
                throw format_error(name, "model.vocab id " + std::to_string(k),
                                   "held by both " + detail::in_quotes(*by_id[k]) + " and " + detail::in_quotes(token));
            by_id[k] = &token;
        }
        // n distinct ids in [0, n): every id is taken, so by_id has no hole.
        vocab v;
        v.tokens_.reserve(n);
        for (std::size_t k = 0; k < n; ++k) {
            v.tokens_.push_back(*by_id[k]);
            v.ids_.emplace(*by_id[k], static_cast<token_id>(k));
        }
        if (v.tokens_.empty()) throw format_error(name, "model.vocab", "is empty");
        v.finish(name);
        return v;
    }

    /// @brief Reads a tokenizer.json file (at most 256 MiB, strict JSON) and returns its vocab.
    static vocab load_tokenizer_json(const std::filesystem::path& path) {
        const std::string name = detail::display_name(path);
        return from_tokenizer_json(detail::parse_json(detail::read_file(path), name), name);
    }

    /// @brief A vocab from tokens in id order, with the same checks as the files.
    /// @throws usage_error naming the first bad token.
    static vocab from_tokens(const std::vector<std::string>& tokens) {
        static const std::string where = "starbucks::text::vocab::from_tokens";
        vocab v;
        for (const std::string& t : tokens) {
            const std::string object = "token " + std::to_string(v.tokens_.size()) + " " + detail::in_quotes(t);
            if (const auto p = detail::check_token(t); !p.rule.empty()) throw usage_error(where, object, p.rule);
            const auto [it, fresh] = v.ids_.try_emplace(t, static_cast<token_id>(v.tokens_.size()));
            if (!fresh) throw usage_error(where, object, "duplicate of token " + std::to_string(it->second));
            v.tokens_.push_back(t);
        }
        try {
            v.finish("tokens");
        } catch (const format_error& e) {
            throw usage_error(where, e.rule());
        }
        return v;
    }

    /// @brief Throws unsupported_error unless `doc` describes a WordPiece model with the BERT
    /// normalizer; format_error when `model` or `normalizer` are not objects with a "type".
    static void check_is_bert_wordpiece(const nlohmann::json& doc, const std::string& name) {
        if (!doc.is_object()) throw format_error(name, "top level must be a JSON object");
        const auto type_of = [&](const char* key) {
            const nlohmann::json* m = detail::member(doc, key);
            if (m == nullptr || m->is_null())
                throw unsupported_error(name, key, std::string("is missing; starbucks supports only a WordPiece model with the BERT normalizer"));
            const nlohmann::json* t = m->is_object() ? detail::member(*m, "type") : nullptr;
            if (t == nullptr || !t->is_string()) throw format_error(name, std::string(key) + ".type", "must be a string");
            return t->get<std::string>();
        };
        if (const std::string t = type_of("model"); t != "WordPiece")
            throw unsupported_error(name, "model.type", detail::in_quotes(t) + "; starbucks supports only WordPiece");
        if (const std::string t = type_of("normalizer"); t != "BertNormalizer")
            throw unsupported_error(name, "normalizer.type", detail::in_quotes(t) + "; starbucks supports only BertNormalizer");
    }

    std::size_t size() const noexcept { return tokens_.size(); }

    /// The id of `token`, if it is in the vocab.
    std::optional<token_id> find(std::string_view token) const {
        const auto it = ids_.find(token);
        if (it == ids_.end()) return std::nullopt;
        return it->second;
    }
    bool contains(std::string_view token) const { return ids_.find(token) != ids_.end(); }

    /// @throws usage_error when `token` is not in the vocab.
    token_id id(std::string_view token) const {
        if (const auto k = find(token)) return *k;
        throw usage_error("starbucks::text::vocab::id", "token " + detail::in_quotes(token) + " is not in the vocab");
    }

    /// @throws usage_error when `id` is outside [0, size()).
    const std::string& token(token_id id) const {
        if (id < 0 || static_cast<std::uint64_t>(id) >= tokens_.size())
            throw usage_error("starbucks::text::vocab::token",
                              "id " + std::to_string(id) + " is outside [0, " + std::to_string(tokens_.size()) + ")");
        return tokens_[static_cast<std::size_t>(id)];
    }

    /// Every token in id order.
    const std::vector<std::string>& tokens() const noexcept { return tokens_; }

    /// Bytes in the longest token: WordPiece never tries a longer substring.
    std::size_t max_token_bytes() const noexcept { return max_token_bytes_; }

    token_id unk_id() const noexcept { return special_[0]; }
    token_id cls_id() const noexcept { return special_[1]; }
    token_id sep_id() const noexcept { return special_[2]; }
    token_id pad_id() const noexcept { return special_[3]; }
    token_id mask_id() const noexcept { return special_[4]; }

    friend bool operator==(const vocab& a, const vocab& b) { return a.tokens_ == b.tokens_; }

private:
    vocab() = default;

    void finish(const std::string& name) {
        std::string missing;
        for (std::size_t k = 0; k < bert_special_tokens.size(); ++k) {
            if (const auto id = find(bert_special_tokens[k]))
                special_[k] = *id;
            else
                missing += " " + std::string(bert_special_tokens[k]);
        }
        if (!missing.empty())
            throw format_error(name, "missing" + missing + "; a BERT vocab needs [UNK] [CLS] [SEP] [PAD] [MASK]");
        for (const std::string& t : tokens_) max_token_bytes_ = std::max(max_token_bytes_, t.size());
    }

    std::vector<std::string> tokens_;
    std::unordered_map<std::string, token_id, detail::string_hash, std::equal_to<>> ids_;
    std::array<token_id, 5> special_{};
    std::size_t max_token_bytes_ = 0;
};

/// @brief Checks that vocab.txt and tokenizer.json hold the same tokens with the same ids.
/// @throws format_error naming the first id where they differ, or both sizes.
inline void check_same_vocab(const vocab& txt, const std::string& txt_name, const vocab& json, const std::string& json_name) {
    const std::size_t n = std::min(txt.size(), json.size());
    for (std::size_t k = 0; k < n; ++k) {
        if (txt.tokens()[k] != json.tokens()[k])
            throw format_error(json_name, "model.vocab id " + std::to_string(k),
                               detail::in_quotes(json.tokens()[k]) + " disagrees with " + detail::in_quotes(txt.tokens()[k]) +
                                   " on " + txt_name + ":" + std::to_string(k + 1));
    }
    if (txt.size() != json.size())
        throw format_error(json_name, "model.vocab",
                           "holds " + std::to_string(json.size()) + " tokens but " + txt_name + " holds " +
                               std::to_string(txt.size()));
}

} // namespace text
STARBUCKS_NAMESPACE_END
