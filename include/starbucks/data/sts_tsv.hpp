// SPDX-License-Identifier: Apache-2.0
// data::read_sts: scored sentence pairs (STS-B, SemEval STS12-16, SICK-R) from TSV or CSV.
#pragma once

#include <string>
#include <vector>

#include "detail/delimited.hpp"
#include "read_options.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace data {

/// One scored pair: the gold similarity of two texts.
struct sts_pair {
    std::string text1;
    std::string text2;
    double score = 0;
};

namespace detail {
/// Where the score and texts sit in a row, and the field counts a row may have.
struct sts_layout {
    std::size_t score = 0, text1 = 1, text2 = 2;
    std::vector<std::size_t> counts;
    std::string name;
};

inline bool looks_numeric(const field& f) {
    double v = 0;
    return parse_decimal(f.text, v);
}

/// The layout from line 1; true in `header` when line 1 names the columns.
inline sts_layout sts_layout_of(const std::vector<field>& line1, const read_options& opt, const row_location& where, bool& header) {
    const long score = find_column(line1, {"score", "similarity", "similarity_score", "relatedness_score", "label", "gold", "gold_score"});
    const long text1 = find_column(line1, {"sentence1", "sentence_1", "sentence_a", "text1", "text_1", "text_a", "s1"});
    const long text2 = find_column(line1, {"sentence2", "sentence_2", "sentence_b", "text2", "text_2", "text_b", "s2"});
    const bool named = score >= 0 && text1 >= 0 && text2 >= 0;
    header = opt.header == header_mode::present || (opt.header == header_mode::detect && named);
    if (header) {
        if (!named)
            throw format_error(where.at(), "header",
                               "needs a score column (score, similarity, label, ...) and two text columns (sentence1/sentence2, "
                               "text1/text2, sentence_a/sentence_b)");
        return sts_layout{std::size_t(score), std::size_t(text1), std::size_t(text2), {line1.size()}, "as the header on line 1"};
    }
    const std::size_t n = line1.size();
    const std::string hint = "; if line 1 is a header, name its columns score, sentence1, sentence2 (or pass header=present)";
    if (n == 7 || n == 9) return sts_layout{4, 5, 6, {7, 9}, "STS-B raw (genre, file, year, id, score, sentence1, sentence2[, source1, source2])"};
    if (n == 5) return sts_layout{3, 1, 2, {5}, "SICK (pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment)"};
    if (n == 3 || n == 4) {
        if (looks_numeric(line1[0])) return sts_layout{0, 1, 2, {n}, "score, sentence1, sentence2"};
        if (n == 3 && looks_numeric(line1[2])) return sts_layout{2, 0, 1, {3}, "sentence1, sentence2, score"};
        throw format_error(where.at(line1[0].column), "score", "no numeric score in column 1" + std::string(n == 3 ? " or 3" : "") +
                                                                   ": looks like a header" + hint);
    }
    throw format_error(where.at(), "row", std::to_string(n) + " columns match no known STS layout (3 or 4: score first; 5: SICK; "
                                                            "7 or 9: STS-B raw)" + hint);
}
} // namespace detail

/// @brief Reads scored sentence pairs, keeping only the score and the two texts.
///
/// Layouts: a header naming a score column (score, similarity, label, ...) and two text
/// columns (sentence1/sentence2, ...), other columns ignored (the STS TSVs of examples/data/);
/// or, without a header, by column count on line 1: 3 or 4 (score, sentence1, sentence2[,
/// extra]; 3 may also be sentence1, sentence2, score), 5 (SICK: pair_ID, A, B, score,
/// judgment), 7 or 9 (the raw STS-B sts-*.csv, TAB-separated despite the name).
/// Every row must have the layout's column count, a finite decimal score in [score_min,
/// score_max], and non-empty UTF-8 texts.
/// @throws format_error naming `file:line:column` and the problem (or skips, counted in
/// `stats`, with skip_bad_rows); io_error when the file cannot be read.
inline std::vector<sts_pair> read_sts(const std::string& path, const read_options& opt, read_stats& stats) {
    detail::sts_layout layout;
    auto setup = [&](const std::vector<detail::field>& line1, const detail::row_location& where) {
        bool header = false;
        layout = detail::sts_layout_of(line1, opt, where, header);
        return header;
    };
    auto parse = [&](std::vector<detail::field>& fields, const detail::row_location& where) {
        if (std::find(layout.counts.begin(), layout.counts.end(), fields.size()) == layout.counts.end()) {
            std::string want;
            for (std::size_t c : layout.counts) want += (want.empty() ? "" : " or ") + std::to_string(c);
            throw format_error(where.at(), "row", std::to_string(fields.size()) + " columns, expected " + want + " (" + layout.name + ")");
        }
        sts_pair p;
        const detail::field& s = fields[layout.score];
        if (!detail::parse_decimal(s.text, p.score))
            throw format_error(where.at(s.column), "score", io::detail::quote_text(s.text) + " is not a finite decimal number" +
                                                              (where.line == 1 ? "; looks like a header: name the columns or pass header=present" : ""));
        if (!(p.score >= opt.score_min && p.score <= opt.score_max)) {
            char range[64];
            std::snprintf(range, sizeof range, "[%g, %g]", opt.score_min, opt.score_max);
            throw format_error(where.at(s.column), "score", s.text + " is outside " + range);
        }
        p.text1 = detail::take_text(fields[layout.text1], where, "text1");
        p.text2 = detail::take_text(fields[layout.text2], where, "text2");
        return p;
    };
    return detail::read_rows<sts_pair>(path, opt, stats, setup, parse);
}

/// read_sts without the statistics.
inline std::vector<sts_pair> read_sts(const std::string& path, const read_options& opt = {}) {
    read_stats stats;
    return read_sts(path, opt, stats);
}

} // namespace data
STARBUCKS_NAMESPACE_END
