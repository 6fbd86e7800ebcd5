// SPDX-License-Identifier: Apache-2.0
// data::read_options and data::read_stats: how the dataset readers treat headers, delimiters
// and malformed rows, and what they report about the rows they skipped.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace data {

/// Whether line 1 names the columns.
enum class header_mode {
    detect,  ///< a header when line 1 names known columns (see each reader), else data
    present, ///< line 1 is a header; unknown column names are an error
    absent,  ///< every line is data, columns by position
};

/// @brief Options shared by the TSV/CSV readers (RELIABILITY.md, "Dataset rows").
struct read_options {
    header_mode header = header_mode::detect;
    /// TAB (quotes are literal), ',' (RFC 4180 quotes, one line per row), or 0: TAB when line 1
    /// holds a TAB, else comma.
    char delimiter = 0;
    /// The closed range an STS score must lie in (STS-B and SemEval STS: [0, 5]; SICK: [1, 5]).
    double score_min = 0.0;
    double score_max = 5.0;
    /// Skip malformed rows (counted in read_stats) instead of throwing on the first one.
    bool skip_bad_rows = false;
    /// Even when skipping, fail when more than this fraction of the data rows is malformed.
    double max_bad_fraction = 0.01;
    /// Longer lines are malformed rows; they are never held in memory whole.
    std::size_t max_line_bytes = std::size_t(16) << 20;
};

/// What a reader saw: rows kept, rows skipped, and the messages of the first skipped ones.
struct read_stats {
    std::size_t rows = 0;
    std::size_t skipped = 0;
    std::vector<std::string> first_skipped; ///< at most 10 format_error messages
};

} // namespace data
STARBUCKS_NAMESPACE_END
