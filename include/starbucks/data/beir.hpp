// SPDX-License-Identifier: Apache-2.0
// data::text_record_reader: the documents and queries of a retrieval set, streamed record by
// record from BEIR JSONL (`_id`, `title`, `text`) or id/text TSV (MS MARCO `collection.tsv`,
// `queries.*.tsv`, or a header naming the columns), so a corpus larger than memory is read in blocks.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "../config.hpp"
#include "../core/error.hpp"
#include "../io/detail/strict_json.hpp"
#include "detail/delimited.hpp"
#include "read_options.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace data {

/// One document or query: its id (ids are strings, as in BEIR) and its text, a document's
/// title already joined in front (`title + " " + text`, BEIR's and MTEB's input).
struct text_record {
    std::string id;
    std::string text;
};

/// The layout of a record file.
enum class record_format {
    detect, ///< JSONL when the name ends in .jsonl/.json or line 1 starts with '{', else TSV
    jsonl,  ///< one JSON object per line: `_id` (string or integer), `text`, optional `title`
    tsv,    ///< `id TAB text`, or a header naming `_id`/`id`/`docid`/`pid`/`qid`, `text` and optional `title`
};

/// @brief Streams text_records from a BEIR JSONL or id/text TSV file.
///
/// Every record must have a non-empty id unique in the file and a non-blank, well-formed UTF-8
/// text (title + text for documents). A bad row is a format_error naming `file:line` and the
/// field, or, with `skip_bad_rows`, a counted skip (the max_bad_fraction check runs at the end).
class text_record_reader {
public:
    /// @throws io_error when the file cannot be opened.
    explicit text_record_reader(std::string path, const read_options& options = {}, record_format format = record_format::detect)
        : path_(std::move(path)), o_(options), lines_(path_, options.max_line_bytes), format_(format) {
        if (format_ == record_format::detect) {
            const auto ends = [&](std::string_view s) { return path_.size() >= s.size() && path_.compare(path_.size() - s.size(), s.size(), s) == 0; };
            if (ends(".jsonl") || ends(".json")) format_ = record_format::jsonl;
        }
    }

    /// @brief The next record into `r`; false at the end of the file.
    /// @throws format_error as the class says; at the end, when skipping, for too many bad rows.
    bool next(text_record& r) {
        std::string line;
        bool too_long = false;
        while (lines_.next(line, too_long)) {
            const detail::row_location where{&path_, lines_.line_number()};
            try {
                if (too_long) throw format_error(where.at(), "row", "line longer than " + std::to_string(o_.max_line_bytes) + " bytes");
                if (detail::blank(line)) continue;
                if (format_ == record_format::detect) format_ = line.front() == '{' ? record_format::jsonl : record_format::tsv;
                if (format_ == record_format::jsonl ? parse_json(line, where, r) : parse_tsv(line, where, r)) {
                    if (const auto [it, fresh] = seen_.emplace(r.id, where.line); !fresh)
                        throw format_error(where.at(), "id " + io::detail::escaped(r.id, 80),
                                           "appears twice (first at line " + std::to_string(it->second) + ")");
                    ++stats_.rows;
                    return true;
                }
            } catch (const format_error& e) {
                if (!o_.skip_bad_rows) throw;
                ++stats_.skipped;
                if (stats_.first_skipped.size() < 10) stats_.first_skipped.emplace_back(e.what());
            }
        }
        finish();
        return false;
    }

    /// @brief Appends up to `max` records to `out` (cleared first); returns how many.
    std::size_t next_block(std::vector<text_record>& out, std::size_t max) {
        out.clear();
        text_record r;
        while (out.size() < max && next(r)) out.push_back(std::move(r));
        return out.size();
    }

    const read_stats& stats() const noexcept { return stats_; }
    const std::string& path() const noexcept { return path_; }

private:
    bool parse_json(const std::string& line, const detail::row_location& where, text_record& r) {
        io::detail::check_strict_json(line, {where.at() + ": byte ", 16, false}); // one object, no duplicate keys
        const auto j = nlohmann::json::parse(line);
        const auto* id = j.contains("_id") ? &j["_id"] : nullptr;
        if (!id) throw format_error(where.at(), "record", "has no \"_id\"");
        if (id->is_string()) r.id = id->get<std::string>();
        else if (id->is_number_integer()) r.id = id->dump();
        else throw format_error(where.at(), "_id", "is not a string or an integer");
        if (r.id.empty()) throw format_error(where.at(), "_id", "is empty");
        const auto text = string_member(j, "text", where);
        if (!text) throw format_error(where.at(), "record " + io::detail::escaped(r.id, 80), "has no \"text\"");
        const auto title = string_member(j, "title", where);
        r.text = joined(title.value_or(""), *text);
        if (detail::blank(r.text)) throw format_error(where.at(), "record " + io::detail::escaped(r.id, 80), "empty text");
        return true;
    }

    static std::optional<std::string> string_member(const nlohmann::json& j, const char* key, const detail::row_location& where) {
        if (!j.contains(key) || j[key].is_null()) return std::nullopt;
        if (!j[key].is_string()) throw format_error(where.at(), key, "is not a string");
        return j[key].get<std::string>();
    }

    /// BEIR's input text: (title + " " + text).strip(), ASCII whitespace.
    static std::string joined(const std::string& title, const std::string& text) {
        std::string s = title.empty() ? text : title + " " + text;
        const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
        std::size_t b = 0, e = s.size();
        while (b < e && space(s[b])) ++b;
        while (e > b && space(s[e - 1])) --e;
        return s.substr(b, e - b);
    }

    bool parse_tsv(const std::string& line, const detail::row_location& where, text_record& r) {
        if (const auto nul = line.find('\0'); nul != std::string::npos) throw format_error(where.at(nul + 1), "row", "NUL byte");
        auto fields = detail::split_tsv(line);
        if (where.line == 1 || columns_ == 0) {
            const long id = detail::find_column(fields, {"_id", "id", "docid", "pid", "qid", "query-id", "corpus-id"});
            const long text = detail::find_column(fields, {"text", "passage", "query", "contents"});
            if (id >= 0 && text >= 0) {
                id_ = std::size_t(id), text_ = std::size_t(text), columns_ = fields.size();
                title_ = detail::find_column(fields, {"title"});
                return false; // a header
            }
            if (fields.size() != 2)
                throw format_error(where.at(), "row", std::to_string(fields.size()) +
                                                          " columns; without a header a row is `id TAB text` (or name the columns: _id, text, title)");
            id_ = 0, text_ = 1, columns_ = 2;
        }
        if (fields.size() != columns_)
            throw format_error(where.at(), "row", std::to_string(fields.size()) + " columns, expected " + std::to_string(columns_));
        r.id = std::move(fields[id_].text);
        if (detail::blank(r.id)) throw format_error(where.at(fields[id_].column), "id", "is empty");
        if (const auto bad = io::detail::find_invalid_utf8(r.id)) throw format_error(where.at(fields[id_].column), "id", "invalid UTF-8 (" + std::string(bad->reason) + ")");
        std::string title;
        if (title_ >= 0 && !detail::blank(fields[std::size_t(title_)].text)) title = detail::take_text(fields[std::size_t(title_)], where, "title");
        r.text = joined(title, detail::take_text(fields[text_], where, "text"));
        return true;
    }

    void finish() {
        if (finished_) return;
        finished_ = true;
        if (stats_.rows == 0 && stats_.skipped == 0) throw format_error(path_, "records", "no records");
        const std::size_t total = stats_.rows + stats_.skipped;
        if (stats_.skipped > 0 && double(stats_.skipped) > o_.max_bad_fraction * double(total))
            throw format_error(path_, "records", std::to_string(stats_.skipped) + " of " + std::to_string(total) +
                                                     " rows are malformed, over the limit; first: " + stats_.first_skipped.front());
    }

    std::string path_;
    read_options o_;
    detail::line_reader lines_;
    record_format format_;
    read_stats stats_;
    std::unordered_map<std::string, std::size_t> seen_;
    std::size_t id_ = 0, text_ = 1, columns_ = 0;
    long title_ = -1;
    bool finished_ = false;
};

/// @brief Every record of a file (queries, or a corpus that fits in memory).
/// @throws as text_record_reader.
inline std::vector<text_record> read_text_records(const std::string& path, const read_options& options = {}, read_stats* stats = nullptr) {
    text_record_reader reader(path, options);
    std::vector<text_record> out;
    text_record r;
    while (reader.next(r)) out.push_back(std::move(r));
    if (stats) *stats = reader.stats();
    return out;
}

} // namespace data
STARBUCKS_NAMESPACE_END
