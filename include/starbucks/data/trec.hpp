// SPDX-License-Identifier: Apache-2.0
// data::qrels and data::run: relevance judgments and ranked result lists in the TREC file
// formats trec_eval reads, with readers that name file:line for every malformed row and a run
// writer whose scores read back as the same floats.
#pragma once

#include <charconv>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../core/error.hpp"
#include "detail/delimited.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace data {

/// The graded judgments of one query: document id → grade (≤ 0 is not relevant).
using judgments = std::unordered_map<std::string, int>;

/// Relevance judgments of a collection: query id → judgments, in the order the file gives.
struct qrels {
    std::map<std::string, judgments> queries;
    std::size_t lines = 0; ///< judgment rows read
};

/// One retrieved document of a query: its id and score (the rank column is not kept: trec_eval
/// ignores it and orders by score, then by document id).
struct scored_doc {
    std::string doc;
    double score = 0;
};

/// A run: query id → retrieved documents (any order; see sort_trec).
using run = std::map<std::string, std::vector<scored_doc>>;

namespace detail {

/// Fields of a qrels or run row: split on TABs when the line has one (ids may then hold spaces),
/// else on runs of blanks, as trec_eval's whitespace-separated files.
inline std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> out;
    if (line.find('\t') != std::string_view::npos) {
        std::size_t start = 0;
        while (true) {
            const std::size_t tab = line.find('\t', start);
            out.push_back(line.substr(start, (tab == std::string_view::npos ? line.size() : tab) - start));
            if (tab == std::string_view::npos) return out;
            start = tab + 1;
        }
    }
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\r')) ++i;
        if (i >= line.size()) break;
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\r') ++j;
        out.push_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

inline bool parse_int(std::string_view s, int& v) noexcept {
    const char* b = s.data();
    const char* e = b + s.size();
    if (b != e && *b == '+') ++b;
    const auto r = std::from_chars(b, e, v);
    return b != e && r.ec == std::errc() && r.ptr == e;
}

inline void check_id(std::string_view id, const detail::row_location& where, const char* what) {
    if (id.empty()) throw format_error(where.at(), what, "empty id");
    if (const auto bad = io::detail::find_invalid_utf8(id)) throw format_error(where.at(), what, "invalid UTF-8 (" + std::string(bad->reason) + ")");
}

} // namespace detail

/// @brief Reads relevance judgments in either form trec_eval users meet: TREC `qid iter docid
/// grade` (4 columns, blank- or TAB-separated) or BEIR's `query-id corpus-id score` (3 columns,
/// TAB-separated, header optional). The form is taken from the first data row; a header is a
/// line 1 whose last column is not an integer.
/// @throws io_error when the file cannot be read; format_error naming file:line for a row with
/// the wrong column count, a grade that is not an integer, an empty or non-UTF-8 id, a document
/// judged twice for one query (with the line of the first judgment), or a file without rows.
inline qrels read_qrels(const std::string& path) {
    detail::line_reader reader(path, std::size_t(1) << 20);
    qrels out;
    std::unordered_map<std::string, std::size_t> first_line; // "qid\0docid" → line
    std::string line;
    bool too_long = false;
    std::size_t columns = 0;
    while (reader.next(line, too_long)) {
        const detail::row_location where{&path, reader.line_number()};
        if (too_long) throw format_error(where.at(), "qrels row", "longer than 1 MiB");
        if (detail::blank(line)) continue;
        const auto f = detail::split_fields(line);
        int grade = 0;
        if (where.line == 1 && !f.empty() && !detail::parse_int(f.back(), grade)) {
            if (f.size() != 3)
                throw format_error(where.at(), "qrels header", "a header names 3 columns (query-id corpus-id score), this one has " +
                                                                   std::to_string(f.size()));
            continue;
        }
        if (columns == 0) {
            if (f.size() != 3 && f.size() != 4)
                throw format_error(where.at(), "qrels row", std::to_string(f.size()) +
                                                                " columns; expected `qid iter docid grade` (TREC) or `query-id corpus-id score` (BEIR)");
            columns = f.size();
        }
        if (f.size() != columns)
            throw format_error(where.at(), "qrels row", std::to_string(f.size()) + " columns, expected " + std::to_string(columns) + " as in the first row");
        const std::string_view qid = f[0], doc = f[columns - 2];
        detail::check_id(qid, where, "query id");
        detail::check_id(doc, where, "document id");
        if (!detail::parse_int(f.back(), grade))
            throw format_error(where.at(), "grade \"" + io::detail::escaped(f.back(), 40) + "\"", "is not an integer");
        std::string key = std::string(qid) + '\0' + std::string(doc);
        if (const auto [it, fresh] = first_line.emplace(std::move(key), where.line); !fresh)
            throw format_error(where.at(), "document " + io::detail::escaped(doc, 80),
                               "judged twice for query " + io::detail::escaped(qid, 80) + " (first at line " + std::to_string(it->second) + ")");
        out.queries[std::string(qid)][std::string(doc)] = grade;
        ++out.lines;
    }
    if (out.lines == 0) throw format_error(path, "qrels", "no judgments");
    return out;
}

/// @brief Reads a TREC run file: `qid Q0 docid rank score tag` per line (blank- or TAB-separated).
/// @throws io_error when unreadable; format_error naming file:line for a row without 6 columns,
/// a score that is not a finite number (NaN and inf included), an empty or non-UTF-8 id, a
/// document listed twice for one query, or a file without rows.
inline run read_run(const std::string& path) {
    detail::line_reader reader(path, std::size_t(1) << 20);
    run out;
    std::unordered_map<std::string, std::size_t> first_line;
    std::string line;
    bool too_long = false;
    std::size_t rows = 0;
    while (reader.next(line, too_long)) {
        const detail::row_location where{&path, reader.line_number()};
        if (too_long) throw format_error(where.at(), "run row", "longer than 1 MiB");
        if (detail::blank(line)) continue;
        const auto f = detail::split_fields(line);
        if (f.size() != 6)
            throw format_error(where.at(), "run row", std::to_string(f.size()) + " columns; expected `qid Q0 docid rank score tag`");
        detail::check_id(f[0], where, "query id");
        detail::check_id(f[2], where, "document id");
        double score = 0;
        if (!detail::parse_decimal(f[4], score))
            throw format_error(where.at(), "score \"" + io::detail::escaped(f[4], 40) + "\"", "is not a finite number");
        std::string key = std::string(f[0]) + '\0' + std::string(f[2]);
        if (const auto [it, fresh] = first_line.emplace(std::move(key), where.line); !fresh)
            throw format_error(where.at(), "document " + io::detail::escaped(f[2], 80),
                               "listed twice for query " + io::detail::escaped(f[0], 80) + " (first at line " + std::to_string(it->second) + ")");
        out[std::string(f[0])].push_back({std::string(f[2]), score});
        ++rows;
    }
    if (rows == 0) throw format_error(path, "run", "no rows");
    return out;
}

/// @brief A score as the shortest decimal that reads back as the same float (so a run file
/// re-read by trec_eval orders, and ties, exactly as the scores in memory did).
inline std::string format_score(float score) {
    char buf[48];
    for (int digits = 6; digits <= 9; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(score));
        if (std::strtof(buf, nullptr) == score) break;
    }
    return buf;
}

/// @brief Appends one query's ranking to `out` as TREC run lines, ranks from 1 in the given
/// order (callers pass it sorted with sort_trec).
inline void append_run_lines(std::string& out, std::string_view qid, const std::vector<std::pair<std::string_view, float>>& ranked,
                             std::string_view tag) {
    std::size_t rank = 0;
    for (const auto& [doc, score] : ranked) {
        out.append(qid).append(" Q0 ").append(doc).append(" ").append(std::to_string(++rank)).append(" ");
        out.append(format_score(score)).append(" ").append(tag).append("\n");
    }
}

} // namespace data
STARBUCKS_NAMESPACE_END
