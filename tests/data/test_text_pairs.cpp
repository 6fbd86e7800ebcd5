// SPDX-License-Identifier: Apache-2.0
// data::read_pairs: headers naming the columns, positional rows, malformed rows, NLI triplets.
#include "testing.hpp"

#include "data_testing.hpp"

#include <starbucks/data/text_pairs.hpp>

#include <string>
#include <utility>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_text_pairs {

using namespace starbucks;
using starbucks::testing::examples_file;
using starbucks::testing::format_error_message;
using starbucks::testing::rows_file;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
} // namespace

TEST_CASE("data read_pairs: a header names anchor, positive and optional negative columns in any order") {
    const auto t = data::read_pairs(rows_file("pairs-triplets.tsv"));
    REQUIRE(t.size() == 2);
    CHECK(t[0].anchor == "A man sleeps.");
    CHECK(t[0].positive == "A person rests.");
    REQUIRE(t[0].negative.has_value());
    CHECK(*t[1].negative == "A cat sleeps.");

    const auto r = data::read_pairs(rows_file("pairs-reordered.tsv"));
    REQUIRE(r.size() == 3);
    CHECK(r[2].anchor == "a3");
    CHECK(r[2].positive == "p3");
    CHECK_FALSE(r[2].negative.has_value());

    const auto q = data::read_pairs(rows_file("pairs-quoted.csv"));
    REQUIRE(q.size() == 2);
    CHECK(q[0].anchor == "a, 1");
    CHECK(q[1].positive == "p \"2\"");
}

TEST_CASE("data read_pairs: header=absent reads positional columns") {
    data::read_options absent;
    absent.header = data::header_mode::absent;
    const auto p = data::read_pairs(rows_file("pairs-positional.tsv"), absent);
    REQUIRE(p.size() == 2);
    CHECK(p[0].anchor == "a1");
    CHECK(*p[1].negative == "n2");
    // Without that option line 1 must be a header.
    CHECK(contains(format_error_message([] { data::read_pairs(rows_file("pairs-positional.tsv")); }),
                   "pairs-positional.tsv:1: header: line 1 must name the columns"));
}

TEST_CASE("data read_pairs: malformed rows are format_errors naming file:line:column") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"pairs-bad-header.tsv", ":1: header: line 1 must name the columns"},
        {"pairs-bad-empty-negative.tsv", ":3:7: negative: empty text"},
        {"pairs-bad-columns.tsv", ":3: row: 3 columns, expected 2"},
        {"pairs-bad-utf8.tsv", ":2:6: positive: invalid UTF-8 (UTF-16 surrogate)"},
    };
    for (const auto& entry : cases) { // not a structured binding: clang 14 cannot capture one (INFO, lambdas)
        const auto& file = entry.first;
        const auto& expected = entry.second;
        INFO(file);
        CHECK(contains(format_error_message([&] { data::read_pairs(rows_file(file)); }), file + expected));
    }
}

TEST_CASE("data read_pairs: the shipped SNLI triplets read whole") {
    const auto t = data::read_pairs(examples_file("snli-test-triplets.tsv"));
    REQUIRE(t.size() == 2921);
    CHECK(t[0].anchor == "This church choir sings to the masses as they sing joyous songs from the book at a church.");
    CHECK(t[0].positive == "The church is filled with song.");
    CHECK(*t[0].negative == "A choir singing at a baseball game.");
    for (const auto& row : t) CHECK(row.negative.has_value());
}

} }  // namespace test_text_pairs
