// SPDX-License-Identifier: Apache-2.0
// Bounded file reading and strict JSON parsing (depth limit, duplicate keys) for text/.
// Private to starbucks/text; include <starbucks/text/vocab.hpp>.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../core/error.hpp"
#include "utf8.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace text::detail {

/// tokenizer.json and vocab.txt are refused above this size (RELIABILITY.md, section 7).
inline constexpr std::uintmax_t max_file_bytes = std::uintmax_t{256} << 20;
/// Nesting deeper than this is refused before nlohmann's recursion could grow the stack.
inline constexpr int max_json_depth = 64;

/// The file name as error messages print it.
inline std::string display_name(const std::filesystem::path& path) { return escape(path.string(), 4096); }

/// @brief The whole file, after checking its size against `max_bytes`.
/// @throws io_error when it cannot be opened or read; format_error when it is too large.
inline std::string read_file(const std::filesystem::path& path, std::uintmax_t max_bytes = max_file_bytes) {
    const std::string name = display_name(path);
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) throw io_error(name, "cannot read: " + ec.message());
    if (size > max_bytes)
        throw format_error(name, "file is " + std::to_string(size) + " bytes; the limit is " + std::to_string(max_bytes));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(name, std::string("cannot open: ") + std::strerror(errno));
    std::string bytes(static_cast<std::size_t>(size), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (static_cast<std::size_t>(in.gcount()) != bytes.size())
        throw io_error(name, "read " + std::to_string(in.gcount()) + " of " + std::to_string(size) + " bytes");
    return bytes;
}

/// @brief Parses JSON strictly: nlohmann's RFC 8259 parser (no comments, trailing commas or
/// NaN; UTF-8 checked) plus a depth limit and an error on duplicate keys, which nlohmann
/// would otherwise resolve silently.
/// @throws format_error naming `name@byte` for syntax errors, `name` otherwise.
inline nlohmann::json parse_json(std::string_view bytes, const std::string& name) {
    // One key set per open object; arrays push an empty marker so depth tracking stays simple.
    std::vector<std::set<std::string>> open_keys;
    const auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using ev = nlohmann::json::parse_event_t;
        switch (event) {
        case ev::object_start:
        case ev::array_start:
            if (depth >= max_json_depth)
                throw format_error(name, "JSON nests deeper than " + std::to_string(max_json_depth) + " levels");
            open_keys.emplace_back();
            break;
        case ev::object_end:
        case ev::array_end:
            if (!open_keys.empty()) open_keys.pop_back();
            break;
        case ev::key:
            if (!open_keys.empty() && !open_keys.back().insert(parsed.get<std::string>()).second)
                throw format_error(name, "key " + in_quotes(parsed.get<std::string>()), "appears twice in one object");
            break;
        case ev::value: break;
        }
        return true;
    };
    try {
        return nlohmann::json::parse(bytes.begin(), bytes.end(), callback);
    } catch (const nlohmann::json::parse_error& e) {
        std::string msg = e.what();
        // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
        if (const auto p = msg.find("] "); p != std::string::npos) msg.erase(0, p + 2);
        throw format_error(name + "@" + std::to_string(e.byte), "not valid JSON: " + escape(msg, 400));
    } catch (const nlohmann::json::out_of_range&) {
        // nlohmann's only parse-time out_of_range: a number beyond double's range (1e400).
        throw format_error(name, "not valid JSON here: a number overflows a double");
    }
}

/// A JSON value as an error message shows it: its compact dump, cut after 80 bytes.
inline std::string excerpt(const nlohmann::json& v) {
    std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (s.size() > 80) s = s.substr(0, 80) + "...";
    return s;
}

/// The member `key` of `object`, or nullptr when absent.
inline const nlohmann::json* member(const nlohmann::json& object, const char* key) {
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

} // namespace text::detail
STARBUCKS_NAMESPACE_END
