// SPDX-License-Identifier: Apache-2.0
// data::read_corpus: plain-text documents for pre-training (one per line, or blank-line
// separated blocks), with every bad line named by file:line.
#pragma once

#include <string>
#include <vector>

#include "detail/delimited.hpp"
#include "read_options.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace data {

/// How a plain-text file splits into documents.
enum class corpus_layout {
    lines,  ///< every non-blank line is a document (WikiText paragraphs, one sentence per line)
    blocks, ///< runs of non-blank lines separated by blank lines; a block's lines joined by '\n'
};

/// @brief Reads the documents of a UTF-8 text file. Blank lines never make documents.
///
/// Uses `opt.skip_bad_rows`, `opt.max_bad_fraction` and `opt.max_line_bytes` (header,
/// delimiter and score range do not apply). A line with invalid UTF-8 or a NUL byte, or longer
/// than max_line_bytes, is malformed: an error, or with skip_bad_rows a counted skip (in
/// blocks layout the rest of its block is kept). `stats.rows` counts the documents.
/// @throws io_error when the file cannot be read; format_error naming `file:line:column` for a
/// malformed line, and naming the file when it holds no text or, when skipping, too many lines
/// are malformed. `first_lines`, when given, receives each document's first line number.
inline std::vector<std::string> read_corpus(const std::string& path, corpus_layout layout, const read_options& opt, read_stats& stats,
                                            std::vector<std::size_t>* first_lines = nullptr) {
    stats = read_stats{};
    detail::line_reader reader(path, opt.max_line_bytes);
    std::vector<std::string> docs;
    std::string line, block;
    bool too_long = false;
    std::size_t lines = 0, block_line = 0;
    if (first_lines) first_lines->clear();
    const auto end_block = [&] {
        if (!block.empty()) {
            docs.push_back(std::move(block));
            if (first_lines) first_lines->push_back(block_line);
        }
        block.clear();
    };
    while (reader.next(line, too_long)) {
        ++lines;
        const detail::row_location where{&path, reader.line_number()};
        try {
            if (too_long) throw format_error(where.at(), "line", "longer than " + std::to_string(opt.max_line_bytes) + " bytes");
            if (const auto nul = line.find('\0'); nul != std::string::npos) throw format_error(where.at(nul + 1), "line", "NUL byte");
            if (const auto bad = io::detail::find_invalid_utf8(line))
                throw format_error(where.at(bad->offset + 1), "line", "invalid UTF-8 (" + std::string(bad->reason) + ")");
        } catch (const format_error& e) {
            if (!opt.skip_bad_rows) throw;
            ++stats.skipped;
            if (stats.first_skipped.size() < 10) stats.first_skipped.emplace_back(e.what());
            continue;
        }
        if (detail::blank(line)) {
            if (layout == corpus_layout::blocks) end_block();
            continue;
        }
        if (layout == corpus_layout::lines) {
            docs.push_back(std::move(line));
            if (first_lines) first_lines->push_back(where.line);
            continue;
        }
        if (block.empty()) block_line = where.line;
        else block.push_back('\n');
        block += line;
    }
    end_block();
    if (stats.skipped > 0 && double(stats.skipped) > opt.max_bad_fraction * double(lines))
        throw format_error(path, "", std::to_string(stats.skipped) + " of " + std::to_string(lines) + " lines are malformed (more than " +
                                         std::to_string(opt.max_bad_fraction * 100) + " %); the first: " + stats.first_skipped.front());
    if (docs.empty()) throw format_error(path, "", "holds no text (every line is blank" + std::string(stats.skipped ? " or malformed)" : ")"));
    stats.rows = docs.size();
    return docs;
}

} // namespace data
STARBUCKS_NAMESPACE_END
