// SPDX-License-Identifier: Apache-2.0
// Strict JSON for untrusted files: nlohmann's parser driven through SAX, plus the checks it does
// not make itself (duplicate keys at any depth, a depth limit, what may surround the value),
// each reported with its byte offset. Private to io/; include <starbucks/io/safetensors.hpp>.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../core/error.hpp"
#include "printable.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io::detail {

/// @brief A forward iterator over text that records how many bytes the parser has taken.
///
/// nlohmann's SAX events carry no positions; counting what its lexer consumed recovers them.
class counting_iterator {
public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    counting_iterator() = default;
    counting_iterator(const char* base, const char* p, std::size_t* consumed) : base_(base), p_(p), consumed_(consumed) {}

    reference operator*() const noexcept { return *p_; }
    counting_iterator& operator++() noexcept {
        ++p_;
        *consumed_ = static_cast<std::size_t>(p_ - base_);
        return *this;
    }
    counting_iterator operator++(int) noexcept {
        counting_iterator old = *this;
        ++*this;
        return old;
    }
    friend bool operator==(const counting_iterator& a, const counting_iterator& b) noexcept { return a.p_ == b.p_; }

private:
    const char* base_ = nullptr;
    const char* p_ = nullptr;
    std::size_t* consumed_ = nullptr;
};

/// @brief Byte offsets for SAX handlers.
///
/// When the parser reports a key, a string, '{' or '[', its lexer has read exactly up to the end
/// of that token (only numbers read one byte ahead), so `consumed_` locates it.
class json_offsets {
public:
    explicit json_offsets(std::string_view text) : text_(text) {}

    counting_iterator begin() { return {text_.data(), text_.data(), &consumed_}; }
    counting_iterator end() { return {text_.data(), text_.data() + text_.size(), &consumed_}; }

protected:
    /// Offset of the '{' or '[' just reported.
    std::size_t container_start() const noexcept { return consumed_ - 1; }
    /// Offset of the opening quote of the key or string just reported. The lexer has validated
    /// the token, so the opening quote is the nearest '"' behind the closing one that is not
    /// escaped, i.e. not preceded by an odd run of backslashes.
    std::size_t string_start() const noexcept {
        std::size_t j = consumed_ - 1; // the closing quote
        while (j > 0) {
            --j;
            if (text_[j] != '"') continue;
            std::size_t backslashes = 0;
            while (j > backslashes && text_[j - 1 - backslashes] == '\\') ++backslashes;
            if (backslashes % 2 == 0) return j;
        }
        return 0;
    }

    std::string_view text_;
    std::size_t consumed_ = 0;
};

/// Whitespace JSON allows between tokens.
constexpr bool is_json_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// The JSON type name for messages: "a number", "an array", ...
constexpr std::string_view json_kind_name(nlohmann::json::value_t t) noexcept {
    using v = nlohmann::json::value_t;
    switch (t) {
    case v::null: return "null";
    case v::boolean: return "a boolean";
    case v::number_integer:
    case v::number_unsigned:
    case v::number_float: return "a number";
    case v::string: return "a string";
    case v::array: return "an array";
    case v::object: return "an object";
    default: return "a value";
    }
}

/// Where the checked text sits, for messages: `where_prefix + offset` names a byte
/// ("model.safetensors@8+" for a safetensors header, "index.json@" for a whole file).
struct strict_json_options {
    std::string where_prefix;
    std::size_t max_depth = 64;
    /// Safetensors headers may be padded with spaces only; whole JSON files with any JSON whitespace.
    bool spaces_only_padding = true;
    /// The value may also be an array (a sentence-transformers modules.json is one).
    bool array_allowed = false;
};

/// @brief Pass one over untrusted JSON: syntax (nlohmann), exactly one object (or array, when
/// allowed), nesting depth, duplicate keys in every object, and nothing but padding around it.
///
/// Keeps no values: per open object only (hash, offsets) of its keys, so memory stays a small
/// multiple of the key count whatever the input. @throws format_error with the byte offset.
class strict_json_checker : public json_offsets {
public:
    using json = nlohmann::json;

    strict_json_checker(std::string_view text, strict_json_options options)
        : json_offsets(text), options_(std::move(options)) {}

    /// Runs the checks; @throws format_error.
    void run() {
        const bool ok = json::sax_parse(begin(), end(), this, nlohmann::json::input_format_t::json, /*strict=*/false);
        if (error_) throw *error_;
        if (!ok || !root_end_) fail(consumed_, "", "not valid JSON: unexpected end");
        check_padding();
    }

    // ---- SAX interface ----
    bool null() { return value(json::value_t::null); }
    bool boolean(bool) { return value(json::value_t::boolean); }
    bool number_integer(json::number_integer_t) { return value(json::value_t::number_integer); }
    bool number_unsigned(json::number_unsigned_t) { return value(json::value_t::number_unsigned); }
    bool number_float(json::number_float_t, const json::string_t&) { return value(json::value_t::number_float); }
    bool string(json::string_t&) { return value(json::value_t::string); }
    bool binary(json::binary_t&) { return value(json::value_t::binary); }
    bool start_object(std::size_t) { return open(json::value_t::object); }
    bool start_array(std::size_t) { return open(json::value_t::array); }
    bool key(json::string_t& k) {
        keys_.back().push_back({std::hash<std::string_view>{}(k), string_start(), consumed_});
        return true;
    }
    bool end_object() {
        if (!check_duplicates(keys_.back())) return false;
        keys_.pop_back();
        return close();
    }
    bool end_array() { return close(); }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
        // nlohmann's text: "[json.exception.parse_error.101] parse error at line 1, column 5:
        // syntax error while parsing ..."; keep the part after the redundant position.
        std::string_view what = ex.what();
        if (const auto p = what.find("] "); p != std::string_view::npos) what.remove_prefix(p + 2);
        if (what.rfind("parse error at", 0) == 0)
            if (const auto p = what.find(": "); p != std::string_view::npos) what.remove_prefix(p + 2);
        record(position > 0 ? position - 1 : 0, "", "not valid JSON: " + escaped(what, 300, /*quotes=*/false));
        return false;
    }

private:
    struct key_ref {
        std::size_t hash, begin, end; // begin/end: the key token, quotes included
    };

    bool value(json::value_t t) {
        if (depth_ == 0) return record(first_non_space(), "", "the JSON value is " + std::string(json_kind_name(t)) + ", not " + wanted());
        return true;
    }
    bool open(json::value_t t) {
        if (depth_ == 0 && t != json::value_t::object && !(t == json::value_t::array && options_.array_allowed))
            return record(container_start(), "", "the JSON value is " + std::string(json_kind_name(t)) + ", not " + wanted());
        if (depth_ == 0) {
            root_begin_ = container_start();
            root_is_array_ = t == json::value_t::array;
        }
        if (++depth_ > options_.max_depth)
            return record(container_start(), "", "nesting deeper than " + std::to_string(options_.max_depth) + " levels");
        if (t == json::value_t::object) keys_.emplace_back();
        return true;
    }
    bool close() {
        if (--depth_ == 0) root_end_ = consumed_;
        return true;
    }

    /// Sorting by hash puts equal keys side by side; equal hashes are confirmed on the decoded
    /// text, so a collision is never reported as a duplicate.
    bool check_duplicates(std::vector<key_ref>& keys) {
        std::sort(keys.begin(), keys.end(), [](const key_ref& a, const key_ref& b) {
            return a.hash != b.hash ? a.hash < b.hash : a.begin < b.begin;
        });
        std::optional<std::pair<key_ref, key_ref>> found; // (first, duplicate) with the earliest duplicate
        for (std::size_t i = 0; i < keys.size();) {
            std::size_t j = i + 1;
            while (j < keys.size() && keys[j].hash == keys[i].hash) ++j;
            for (std::size_t a = i; a < j; ++a)
                for (std::size_t b = a + 1; b < j; ++b)
                    if (decode(keys[a]) == decode(keys[b]) && (!found || keys[b].begin < found->second.begin))
                        found = std::pair{keys[a], keys[b]};
            i = j;
        }
        if (!found) return true;
        return record(found->second.begin, "key " + quote_text(decode(found->second)),
                      "duplicate key; the first is at " + options_.where_prefix + std::to_string(found->first.begin));
    }
    std::string decode(const key_ref& k) const {
        return json::parse(text_.substr(k.begin, k.end - k.begin)).get<std::string>();
    }

    std::string wanted() const { return options_.array_allowed ? "an object or an array" : "an object"; }

    void check_padding() const {
        const std::string open_bracket = root_is_array_ ? "'['" : "'{'", close_bracket = root_is_array_ ? "']'" : "'}'";
        for (std::size_t i = 0; i < root_begin_; ++i)
            if (!padding(text_[i])) fail(i, "", "byte " + hex(text_[i]) + " before the opening " + open_bracket + "; " + padding_rule());
        for (std::size_t i = *root_end_; i < text_.size(); ++i)
            if (!padding(text_[i])) fail(i, "", "byte " + hex(text_[i]) + " after the closing " + close_bracket + "; " + padding_rule());
    }
    bool padding(char c) const noexcept { return options_.spaces_only_padding ? c == ' ' : is_json_space(c); }
    std::string padding_rule() const {
        if (options_.spaces_only_padding) return "only spaces may pad the header";
        return root_is_array_ ? "only whitespace may surround the array" : "only whitespace may surround the object";
    }
    static std::string hex(char c) {
        constexpr char digits[] = "0123456789abcdef";
        const auto b = static_cast<unsigned char>(c);
        return std::string{'0', 'x', digits[b >> 4], digits[b & 15]};
    }
    std::size_t first_non_space() const noexcept {
        std::size_t i = 0;
        while (i < text_.size() && is_json_space(text_[i])) ++i;
        return i;
    }

    bool record(std::size_t offset, std::string object, std::string rule) {
        if (!error_) error_.emplace(options_.where_prefix + std::to_string(offset), std::move(object), std::move(rule));
        return false;
    }
    [[noreturn]] void fail(std::size_t offset, std::string object, std::string rule) const {
        throw format_error(options_.where_prefix + std::to_string(offset), std::move(object), std::move(rule));
    }

    strict_json_options options_;
    std::size_t depth_ = 0;
    std::size_t root_begin_ = 0;
    bool root_is_array_ = false;
    std::optional<std::size_t> root_end_;
    std::vector<std::vector<key_ref>> keys_; // one list per open object
    std::optional<format_error> error_;
};

/// Checks `text` with strict_json_checker; @throws format_error.
inline void check_strict_json(std::string_view text, strict_json_options options) {
    strict_json_checker(text, std::move(options)).run();
}

} // namespace io::detail
STARBUCKS_NAMESPACE_END
