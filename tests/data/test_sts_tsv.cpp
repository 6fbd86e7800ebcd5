// SPDX-License-Identifier: Apache-2.0
// data::read_sts: every accepted layout, every malformed-row kind, skipping, and the shipped sets.
#include "testing.hpp"

#include "data_testing.hpp"

#include <starbucks/data/sts_tsv.hpp>

#include <string>
#include <utility>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_sts_tsv {

using namespace starbucks;
using starbucks::testing::examples_file;
using starbucks::testing::format_error_message;
using starbucks::testing::rows_file;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
} // namespace

TEST_CASE("data read_sts: a header names the columns, in any order and any case, extra columns ignored") {
    const auto rows = data::read_sts(rows_file("sts-header.tsv"));
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].score == 5.0);
    CHECK(rows[0].text1 == "A plane is taking off.");
    CHECK(rows[0].text2 == "An air plane is taking off.");
    CHECK(rows[2].score == 3.8);

    const auto r = data::read_sts(rows_file("sts-header-reordered.tsv"));
    REQUIRE(r.size() == 2);
    CHECK(r[0].text1 == "first a");
    CHECK(r[0].text2 == "second b");
    CHECK(r[0].score == 0.5);
    CHECK(r[1].score == 4.0);
}

TEST_CASE("data read_sts: headerless files are read by column count: score first or last, SICK, and the raw STS-B layout") {
    const auto first = data::read_sts(rows_file("sts-score-first.tsv"));
    REQUIRE(first.size() == 2);
    CHECK(first[0].score == 2.5);
    CHECK(first[0].text1 == "A girl is styling her hair.");
    CHECK(first[1].text2 == "Cats sleep.");
    const auto last = data::read_sts(rows_file("sts-score-last.tsv"));
    REQUIRE(last.size() == 2);
    CHECK(last[0].score == 2.5);
    CHECK(last[0].text2 == "A girl is brushing her hair.");

    const auto sick = data::read_sts(rows_file("sick-raw.txt"));
    REQUIRE(sick.size() == 2);
    CHECK(sick[0].score == 4.5);
    CHECK(sick[1].text1 == "A group of children is playing in the house");

    // 7- and 9-field rows mixed, TAB-separated despite the .csv name, quotes literal.
    const auto raw = data::read_sts(rows_file("sts-b-raw.csv"));
    REQUIRE(raw.size() == 4);
    CHECK(raw[0].score == 5.0);
    CHECK(raw[2].score == 4.0);
    CHECK(raw[2].text1 == "Driver backs into stroller with child, drives off");
    CHECK(raw[3].text1 == "\"Quotes\" are literal in TSV.");
}

TEST_CASE("data read_sts: CSV follows RFC 4180 quoting, and a BOM and CRLF endings are stripped") {
    const auto csv = data::read_sts(rows_file("sts-quoted.csv"));
    REQUIRE(csv.size() == 2);
    CHECK(csv[0].text1 == "Hello, world.");
    CHECK(csv[0].text2 == "He said \"hi\".");
    CHECK(csv[1].text1 == "plain text");
    CHECK(csv[1].text2 == "\"quoted\" start");

    const auto bom = data::read_sts(rows_file("sts-bom-crlf.tsv"));
    REQUIRE(bom.size() == 2);
    CHECK(bom[0].score == 4.2);
    CHECK(bom[0].text2 == "Un caf\xc3\xa9.");
    CHECK(bom[1].text2 == "Still a row."); // no CR kept, and a last line without LF counts
}

TEST_CASE("data read_sts: every malformed row is a format_error naming file:line:column and the problem") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"sts-bad-columns.tsv", ":3: row: 2 columns, expected 4"},
        {"sts-bad-too-many.tsv", ":3: row: 5 columns, expected 4"},
        {"sts-bad-score-word.tsv", ":3:1: score: \"high\" is not a finite decimal number"},
        {"sts-bad-score-nan.tsv", ":3:1: score: \"nan\" is not a finite decimal number"},
        {"sts-bad-score-inf.tsv", ":3:1: score: \"inf\" is not a finite decimal number"},
        {"sts-bad-score-comma.tsv", ":3:1: score: \"4,5\" is not a finite decimal number"},
        {"sts-bad-score-empty.tsv", ":3:1: score: \"\" is not a finite decimal number"},
        {"sts-bad-score-range.tsv", ":3:1: score: 5.5 is outside [0, 5]"},
        {"sts-bad-score-negative.tsv", ":3:1: score: -0.5 is outside [0, 5]"},
        {"sts-bad-empty-text.tsv", ":3:5: text2: empty text"},
        {"sts-bad-utf8.tsv", ":3:5: text1: invalid UTF-8"},
        {"sts-bad-overlong.tsv", ":3:5: text2: invalid UTF-8 (overlong encoding)"},
        {"sts-bad-nul.tsv", ":3:4: row: NUL byte"},
        {"sts-bad-blank-line.tsv", ":3: row: 1 columns, expected 4"},
        {"sts-bad-unterminated.csv", ":2:3: row: unterminated quote"},
        {"sts-bad-after-quote.csv", ":2:6: row: text after a closing quote"},
        {"sts-unnamed-header.tsv", ":1:1: score: no numeric score in column 1 or 3: looks like a header"},
        {"sts-header-only.tsv", ": dataset: no data rows"},
        {"sts-empty.tsv", ": dataset: no data rows"},
    };
    for (const auto& entry : cases) { // not a structured binding: clang 14 cannot capture one (INFO, lambdas)
        const auto& file = entry.first;
        const auto& expected = entry.second;
        INFO(file);
        const std::string m = format_error_message([&] { data::read_sts(rows_file(file)); });
        CHECK(contains(m, "starbucks::format_error: "));
        CHECK(contains(m, file + expected));
    }
}

TEST_CASE("data read_sts: header, score range and delimiter options") {
    // An explicit header that names no known column is an error listing the accepted names.
    data::read_options present;
    present.header = data::header_mode::present;
    CHECK(contains(format_error_message([&] { data::read_sts(rows_file("sts-unnamed-header.tsv"), present); }),
                   "sts-unnamed-header.tsv:1: header: needs a score column"));
    // header=absent turns a header into a data row with a non-numeric score, with the hint.
    data::read_options absent;
    absent.header = data::header_mode::absent;
    CHECK(contains(format_error_message([&] { data::read_sts(rows_file("sts-header.tsv"), absent); }),
                   "sts-header.tsv:1:1: score: no numeric score in column 1: looks like a header"));
    // SICK's range is [1, 5]: the 0 of sts-score-first.tsv line 2 is then out of range.
    data::read_options sick;
    sick.score_min = 1;
    CHECK(contains(format_error_message([&] { data::read_sts(rows_file("sts-score-first.tsv"), sick); }),
                   "sts-score-first.tsv:2:1: score: 0 is outside [1, 5]"));
    // A forced comma delimiter on a TSV line finds one column.
    data::read_options comma;
    comma.delimiter = ',';
    CHECK(contains(format_error_message([&] { data::read_sts(rows_file("sts-score-first.tsv"), comma); }), "1 columns match no known"));
    // A line over max_line_bytes is malformed (line 1 of sts-header.tsv has 32 bytes, line 2 has 58).
    data::read_options short_lines;
    short_lines.max_line_bytes = 40;
    CHECK(contains(format_error_message([&] { data::read_sts(rows_file("sts-header.tsv"), short_lines); }),
                   "sts-header.tsv:2: row: line longer than 40 bytes"));
}

TEST_CASE("data read_sts: skip_bad_rows counts skipped rows and still fails past max_bad_fraction") {
    data::read_options skip;
    skip.skip_bad_rows = true;
    // 1 bad row of 5 is 20 %, over the default 1 %.
    const std::string m = format_error_message([&] { data::read_sts(rows_file("sts-one-bad-of-five.tsv"), skip); });
    CHECK(contains(m, "sts-one-bad-of-five.tsv: dataset: 1 of 5 rows are malformed, over the 1% limit; first: "));
    CHECK(contains(m, "sts-one-bad-of-five.tsv:5:1: score: 9 is outside [0, 5]"));
    skip.max_bad_fraction = 0.25;
    data::read_stats stats;
    const auto rows = data::read_sts(rows_file("sts-one-bad-of-five.tsv"), skip, stats);
    REQUIRE(rows.size() == 4);
    CHECK(rows[3].text1 == "last");
    CHECK(stats.rows == 4);
    CHECK(stats.skipped == 1);
    REQUIRE(stats.first_skipped.size() == 1);
    CHECK(contains(stats.first_skipped[0], ":5:1: score: 9 is outside"));
    // Without skipping, the same file fails on that row.
    CHECK(contains(format_error_message([&] { data::read_sts(rows_file("sts-one-bad-of-five.tsv")); }), ":5:1: score: 9 is outside"));
}

TEST_CASE("data read_sts: a missing file is an io_error naming it") {
    CHECK_THROWS_AS(data::read_sts(rows_file("no-such-file.tsv")), io_error);
    CHECK(contains(starbucks::testing::error_message([] { data::read_sts(rows_file("no-such-file.tsv")); }), "no-such-file.tsv"));
}

TEST_CASE("data read_sts: the shipped STS sets read whole with their official row counts and scores in range") {
    const std::vector<std::pair<std::string, std::size_t>> sets{
        {"stsb-train.tsv", 5749}, {"stsb-test.tsv", 1379}, {"sts12.tsv", 3108}, {"sts13.tsv", 1500},
        {"sts14.tsv", 3750},      {"sts15.tsv", 3000},     {"sts16.tsv", 1186}, {"sickr-test.tsv", 4927},
    };
    for (const auto& entry : sets) { // not a structured binding: clang 14 cannot capture one (INFO, lambdas)
        const auto& file = entry.first;
        const auto& count = entry.second;
        INFO(file);
        data::read_stats stats;
        const auto rows = data::read_sts(examples_file(file), {}, stats);
        CHECK(rows.size() == count);
        CHECK(stats.skipped == 0);
        double lo = 5, hi = 0;
        for (const auto& r : rows) {
            lo = std::min(lo, r.score);
            hi = std::max(hi, r.score);
        }
        CHECK(lo >= 0.0);
        CHECK(hi <= 5.0);
        CHECK(hi > lo);
    }
    const auto test = data::read_sts(examples_file("stsb-test.tsv"));
    CHECK(test[0].score == 2.5);
    CHECK(test[0].text1 == "A girl is styling her hair.");
    CHECK(test[0].text2 == "A girl is brushing her hair.");
}

} }  // namespace test_sts_tsv
