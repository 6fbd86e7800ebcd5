// SPDX-License-Identifier: Apache-2.0
// data::read_pairs: (anchor, positive[, negative]) rows, e.g. NLI triplets, for contrastive training.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "detail/delimited.hpp"
#include "read_options.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace data {

/// An anchor, its positive and, when the file has the column, a hard negative.
struct text_pair {
    std::string anchor;
    std::string positive;
    std::optional<std::string> negative;
};

/// @brief Reads (anchor, positive[, negative]) rows from TSV or CSV.
///
/// Line 1 is a header naming the columns, in any order, other columns ignored: anchor (or
/// query, sentence1, text1), positive (or pos, sentence2, text2) and optionally negative (or
/// neg, hard_negative). With header=absent the columns are positional: 2 (anchor, positive) or
/// 3 (anchor, positive, negative). Either every row has a negative or none does. Every row must
/// have the header's column count and non-empty UTF-8 texts.
/// @throws format_error naming `file:line:column` and the problem (or skips, counted in
/// `stats`, with skip_bad_rows); io_error when the file cannot be read.
inline std::vector<text_pair> read_pairs(const std::string& path, const read_options& opt, read_stats& stats) {
    std::size_t anchor = 0, positive = 1, count = 0;
    long negative = -1;
    auto setup = [&](const std::vector<detail::field>& line1, const detail::row_location& where) {
        count = line1.size();
        if (opt.header == header_mode::absent) {
            if (count != 2 && count != 3)
                throw format_error(where.at(), "row", std::to_string(count) + " columns; without a header a row is anchor, positive[, negative]");
            negative = count == 3 ? 2 : -1;
            return false;
        }
        const long a = detail::find_column(line1, {"anchor", "query", "sentence1", "text1"});
        const long p = detail::find_column(line1, {"positive", "pos", "sentence2", "text2"});
        negative = detail::find_column(line1, {"negative", "neg", "hard_negative"});
        if (a < 0 || p < 0)
            throw format_error(where.at(), "header",
                               "line 1 must name the columns: anchor (or query, sentence1, text1), positive (or pos, sentence2, "
                               "text2) and optionally negative; for positional columns pass header=absent");
        anchor = std::size_t(a);
        positive = std::size_t(p);
        return true;
    };
    auto parse = [&](std::vector<detail::field>& fields, const detail::row_location& where) {
        if (fields.size() != count)
            throw format_error(where.at(), "row", std::to_string(fields.size()) + " columns, expected " + std::to_string(count));
        text_pair r;
        r.anchor = detail::take_text(fields[anchor], where, "anchor");
        r.positive = detail::take_text(fields[positive], where, "positive");
        if (negative >= 0) r.negative = detail::take_text(fields[std::size_t(negative)], where, "negative");
        return r;
    };
    return detail::read_rows<text_pair>(path, opt, stats, setup, parse);
}

/// read_pairs without the statistics.
inline std::vector<text_pair> read_pairs(const std::string& path, const read_options& opt = {}) {
    read_stats stats;
    return read_pairs(path, opt, stats);
}

} // namespace data
STARBUCKS_NAMESPACE_END
