// SPDX-License-Identifier: Apache-2.0
// The TSV/CSV machinery behind data/: a streaming line reader, field splitting, score parsing
// and the strict-or-skip row loop. Private to data/; include <starbucks/data/sts_tsv.hpp> or
// <starbucks/data/text_pairs.hpp> instead.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "../../core/error.hpp"
#include "../../io/detail/printable.hpp"
#include "../../io/detail/utf8.hpp"
#include "../read_options.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace data::detail {

/// One field of a row and the 1-based byte column where it starts.
struct field {
    std::string text;
    std::size_t column = 1;
};

/// The position of a row for messages: `path:line`, and `path:line:column` for a field.
struct row_location {
    const std::string* path = nullptr;
    std::size_t line = 0;
    std::string at(std::size_t column = 0) const {
        std::string s = *path + ":" + std::to_string(line);
        if (column > 0) s += ":" + std::to_string(column);
        return s;
    }
};

/// @brief Reads a file line by line without ever holding more than max_line_bytes of a line.
/// Strips a leading UTF-8 BOM and the CR of CRLF endings; a final line without LF counts.
class line_reader {
public:
    line_reader(const std::string& path, std::size_t max_line_bytes) : in_(path, std::ios::binary), max_(max_line_bytes) {
        if (!in_) throw io_error(path, "cannot open for reading");
    }

    /// The next line into `line`; false at the end. `too_long` tells that the line was cut
    /// (the rest is consumed and dropped).
    bool next(std::string& line, bool& too_long) {
        line.clear();
        too_long = false;
        std::streambuf* sb = in_.rdbuf();
        int c = sb->sbumpc();
        if (c == std::char_traits<char>::eof()) return false;
        ++number_;
        for (; c != std::char_traits<char>::eof() && c != '\n'; c = sb->sbumpc()) {
            if (line.size() < max_) line.push_back(static_cast<char>(c));
            else too_long = true;
        }
        if (!too_long && !line.empty() && line.back() == '\r') line.pop_back();
        if (number_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
        return true;
    }
    std::size_t line_number() const noexcept { return number_; }

private:
    std::ifstream in_;
    std::size_t max_;
    std::size_t number_ = 0;
};

/// TAB-separated fields: quotes are literal.
inline std::vector<field> split_tsv(std::string_view line) {
    std::vector<field> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t tab = line.find('\t', start);
        const std::size_t end = tab == std::string_view::npos ? line.size() : tab;
        out.push_back(field{std::string(line.substr(start, end - start)), start + 1});
        if (tab == std::string_view::npos) return out;
        start = tab + 1;
    }
}

/// Comma-separated fields with RFC 4180 quoting ("" inside quotes is one quote); a row is one
/// line. @throws format_error for an unterminated quote or text after a closing quote.
inline std::vector<field> split_csv(std::string_view line, const row_location& where) {
    std::vector<field> out;
    std::size_t i = 0;
    while (true) {
        field f;
        f.column = i + 1;
        if (i < line.size() && line[i] == '"') {
            ++i;
            while (true) {
                if (i >= line.size())
                    throw format_error(where.at(f.column), "row", "unterminated quote (a CSV row must fit on one line)");
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        f.text.push_back('"');
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                f.text.push_back(line[i++]);
            }
            if (i < line.size() && line[i] != ',')
                throw format_error(where.at(i + 1), "row", "text after a closing quote");
        } else {
            const std::size_t comma = line.find(',', i);
            const std::size_t end = comma == std::string_view::npos ? line.size() : comma;
            f.text.assign(line.substr(i, end - i));
            i = end;
        }
        out.push_back(std::move(f));
        if (i >= line.size()) return out;
        ++i; // the comma
    }
}

/// True when `s` is empty or only ASCII whitespace.
inline bool blank(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; });
}

/// A finite decimal number (digits, one optional sign, point, exponent), or false.
inline bool parse_decimal(std::string_view s, double& value) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) return false;
    std::string_view body = s;
    if (body.front() == '+') body.remove_prefix(1); // from_chars takes no '+'
    if (body.empty() || body.front() == '+') return false;
    const char* end = body.data() + body.size();
    const auto r = std::from_chars(body.data(), end, value, std::chars_format::general);
    return r.ec == std::errc() && r.ptr == end && std::isfinite(value);
}

/// The text of a field, checked: non-empty (after whitespace) and well-formed UTF-8.
inline std::string take_text(field& f, const row_location& where, std::string_view column_name) {
    if (blank(f.text)) throw format_error(where.at(f.column), std::string(column_name), "empty text");
    if (const auto bad = io::detail::find_invalid_utf8(f.text))
        throw format_error(where.at(f.column + bad->offset), std::string(column_name),
                           "invalid UTF-8 (" + std::string(bad->reason) + ")");
    return std::move(f.text);
}

/// Lower-case ASCII copy, for matching column names.
inline std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

/// The index of the first field whose lower-cased name is one of `names`, or -1.
inline long find_column(const std::vector<field>& header, std::initializer_list<std::string_view> names) {
    for (std::size_t i = 0; i < header.size(); ++i) {
        const std::string n = lower(header[i].text);
        for (auto name : names)
            if (n == name) return static_cast<long>(i);
    }
    return -1;
}

/// @brief The row loop shared by the readers.
///
/// Line 1 is split and handed to `setup(fields, where)`, which fixes the layout and returns
/// true when line 1 was a header (consumed). Every data line is checked for NUL bytes and
/// length, split, and handed to `parse(fields, where)`, which returns a Row or throws
/// format_error. With skip_bad_rows those errors are counted in `stats`, else the first one
/// propagates. @throws io_error when the file cannot be opened; format_error for an empty
/// dataset or, when skipping, more than max_bad_fraction of the rows malformed.
template <class Row, class Setup, class Parse>
std::vector<Row> read_rows(const std::string& path, const read_options& opt, read_stats& stats, Setup&& setup, Parse&& parse) {
    stats = read_stats{};
    line_reader reader(path, opt.max_line_bytes);
    std::vector<Row> rows;
    std::string line;
    bool too_long = false;
    char delimiter = opt.delimiter;
    bool first = true;
    while (reader.next(line, too_long)) {
        row_location where{&path, reader.line_number()};
        try {
            if (too_long)
                throw format_error(where.at(), "row", "line longer than " + std::to_string(opt.max_line_bytes) + " bytes");
            if (const auto nul = line.find('\0'); nul != std::string::npos)
                throw format_error(where.at(nul + 1), "row", "NUL byte");
            if (delimiter == 0) delimiter = line.find('\t') != std::string::npos ? '\t' : ',';
            auto fields = delimiter == '\t' ? split_tsv(line) : split_csv(line, where);
            if (first) {
                first = false;
                if (setup(fields, where)) continue;
            }
            rows.push_back(parse(fields, where));
        } catch (const format_error& e) {
            if (!opt.skip_bad_rows || where.line == 1) throw; // line 1 fixes the layout: never skipped
            ++stats.skipped;
            if (stats.first_skipped.size() < 10) stats.first_skipped.emplace_back(e.what());
        }
    }
    stats.rows = rows.size();
    if (rows.empty() && stats.skipped == 0) throw format_error(path, "dataset", "no data rows");
    const std::size_t total = rows.size() + stats.skipped;
    if (stats.skipped > 0 && static_cast<double>(stats.skipped) > opt.max_bad_fraction * static_cast<double>(total)) {
        char fraction[32];
        std::snprintf(fraction, sizeof fraction, "%g%%", opt.max_bad_fraction * 100);
        throw format_error(path, "dataset",
                           std::to_string(stats.skipped) + " of " + std::to_string(total) + " rows are malformed, over the " +
                               fraction + " limit; first: " + stats.first_skipped.front());
    }
    return rows;
}

} // namespace data::detail
STARBUCKS_NAMESPACE_END
