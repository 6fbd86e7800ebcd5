// SPDX-License-Identifier: Apache-2.0
// data::read_training_groups: retrieval training examples — a query, its positive passage and a
// pool of hard negatives — from JSONL (`query`, `positive` or `positives`, `negatives`) or TSV
// (`query TAB positive TAB negative_1 TAB ...`, header optional).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../config.hpp"
#include "../core/error.hpp"
#include "../io/detail/strict_json.hpp"
#include "detail/delimited.hpp"
#include "read_options.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace data {

/// One query with its positive passage and hard negatives (any number; the trainer samples).
struct training_group {
    std::string query;
    std::string positive;
    std::vector<std::string> negatives;
};

namespace detail {

inline std::string json_text(const nlohmann::json& v, const row_location& where, const std::string& what) {
    if (!v.is_string()) throw format_error(where.at(), what, "is not a string");
    std::string s = v.get<std::string>();
    if (blank(s)) throw format_error(where.at(), what, "empty text");
    return s;
}

inline training_group parse_group_json(const std::string& line, const row_location& where) {
    io::detail::check_strict_json(line, {where.at() + ": byte ", 16, false});
    const auto j = nlohmann::json::parse(line);
    training_group g;
    if (!j.contains("query")) throw format_error(where.at(), "group", "has no \"query\"");
    g.query = json_text(j["query"], where, "query");
    if (j.contains("positive")) g.positive = json_text(j["positive"], where, "positive");
    else if (j.contains("positives") && j["positives"].is_array() && !j["positives"].empty())
        g.positive = json_text(j["positives"][0], where, "positives[0]");
    else throw format_error(where.at(), "group", "has no \"positive\" (or non-empty \"positives\")");
    if (j.contains("negatives")) {
        if (!j["negatives"].is_array()) throw format_error(where.at(), "negatives", "is not an array of texts");
        for (std::size_t i = 0; i < j["negatives"].size(); ++i) g.negatives.push_back(json_text(j["negatives"][i], where, "negatives[" + std::to_string(i) + "]"));
    }
    return g;
}

} // namespace detail

/// @brief Reads retrieval training groups. JSONL (name ends in .jsonl/.json, or line 1 starts
/// with '{'): one object per line with `query`, `positive` (or `positives`, the first used) and
/// optional `negatives`. Otherwise TSV: `query TAB positive [TAB negative ...]` per line; a line 1
/// whose first two fields are `query` and `positive` is a header. Texts must be non-blank UTF-8.
/// @throws format_error naming file:line (or counted skips with skip_bad_rows); io_error.
inline std::vector<training_group> read_training_groups(const std::string& path, const read_options& opt, read_stats& stats) {
    stats = read_stats{};
    detail::line_reader reader(path, opt.max_line_bytes);
    const bool by_name = path.ends_with(".jsonl") || path.ends_with(".json");
    std::vector<training_group> out;
    std::string line;
    bool too_long = false;
    int json = by_name ? 1 : -1; // -1: not decided yet
    while (reader.next(line, too_long)) {
        const detail::row_location where{&path, reader.line_number()};
        try {
            if (too_long) throw format_error(where.at(), "row", "line longer than " + std::to_string(opt.max_line_bytes) + " bytes");
            if (detail::blank(line)) continue;
            if (json < 0) json = line.front() == '{' ? 1 : 0;
            if (json == 1) {
                out.push_back(detail::parse_group_json(line, where));
                continue;
            }
            if (line.find('\0') != std::string::npos) throw format_error(where.at(), "row", "NUL byte");
            auto f = detail::split_tsv(line);
            if (where.line == 1 && f.size() >= 2 && detail::lower(f[0].text) == "query" && detail::lower(f[1].text) == "positive") continue;
            if (f.size() < 2) throw format_error(where.at(), "row", "1 column; a row is query TAB positive [TAB negative ...]");
            training_group g;
            g.query = detail::take_text(f[0], where, "query");
            g.positive = detail::take_text(f[1], where, "positive");
            for (std::size_t i = 2; i < f.size(); ++i) g.negatives.push_back(detail::take_text(f[i], where, "negative " + std::to_string(i - 1)));
            out.push_back(std::move(g));
        } catch (const format_error& e) {
            if (!opt.skip_bad_rows) throw;
            ++stats.skipped;
            if (stats.first_skipped.size() < 10) stats.first_skipped.emplace_back(e.what());
        }
    }
    stats.rows = out.size();
    if (out.empty() && stats.skipped == 0) throw format_error(path, "dataset", "no training groups");
    const std::size_t total = out.size() + stats.skipped;
    if (stats.skipped > 0 && double(stats.skipped) > opt.max_bad_fraction * double(total))
        throw format_error(path, "dataset", std::to_string(stats.skipped) + " of " + std::to_string(total) +
                                                " rows are malformed, over the limit; first: " + stats.first_skipped.front());
    return out;
}

} // namespace data
STARBUCKS_NAMESPACE_END
