// SPDX-License-Identifier: Apache-2.0
// data::text_record_reader: the shipped BEIR SciFact and DL19-mini files, id/text TSV, and every
// malformed record named by file:line.
#include "data_testing.hpp"

#include <starbucks/data/beir.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_beir {

using namespace starbucks;

namespace {

std::string temp_file(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / ("starbucks-test-beir-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
}

} // namespace

TEST_CASE("data text_record_reader: the shipped SciFact corpus and queries, titles joined as BEIR does") {
    data::read_stats stats;
    const auto corpus = data::read_text_records(testing::examples_file("beir-scifact/corpus.jsonl"), {}, &stats);
    CHECK(corpus.size() == 5183);
    CHECK(stats.skipped == 0);
    CHECK(corpus.front().id == "4983");
    CHECK(corpus.front().text.rfind("Microstructural development of human newborn cerebral white matter assessed in vivo by diffusion "
                                    "tensor magnetic resonance imaging. Alterations of the architecture",
                                    0) == 0);
    const auto queries = data::read_text_records(testing::examples_file("beir-scifact/queries.jsonl"));
    CHECK(queries.size() == 1109);
    CHECK(queries.front().id == "0");
    CHECK(queries.front().text == "0-dimensional biomaterials lack inductive properties.");
    const auto ms = data::read_text_records(testing::examples_file("msmarco-dl19-mini/corpus.jsonl"));
    CHECK(ms.size() == 5000);
    CHECK(ms.front().text.rfind("Fahrenheit Scale-Daniel", 0) == 0); // empty title: the text alone
}

TEST_CASE("data text_record_reader: streams blocks; TSV with and without a header") {
    data::text_record_reader reader(testing::examples_file("beir-scifact/corpus.jsonl"));
    std::vector<data::text_record> block;
    std::size_t total = 0, blocks = 0;
    while (reader.next_block(block, 1000)) total += block.size(), ++blocks;
    CHECK(total == 5183);
    CHECK(blocks == 6);
    const auto plain = data::read_text_records(temp_file("plain.tsv", "7\tfirst passage\n8\tsecond one\n"));
    REQUIRE(plain.size() == 2);
    CHECK(plain[1].id == "8");
    CHECK(plain[1].text == "second one");
    const auto named = data::read_text_records(temp_file("named.tsv", "title\t_id\ttext\nT\ta\tbody\n\tb\tonly body\n"));
    REQUIRE(named.size() == 2);
    CHECK(named[0].text == "T body");
    CHECK(named[1].text == "only body");
    const auto numeric = data::read_text_records(temp_file("numeric.jsonl", "{\"_id\": 12, \"text\": \"x\"}\n"));
    CHECK(numeric.front().id == "12");
}

TEST_CASE("data text_record_reader: malformed records are errors naming file:line, or counted skips") {
    const auto message = [](const std::string& name, const std::string& text) {
        return testing::format_error_message([&] { data::read_text_records(temp_file(name, text)); });
    };
    CHECK(message("dup.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"a\", \"text\": \"y\"}\n")
              .find(":2: id a: appears twice (first at line 1)") != std::string::npos);
    CHECK(message("empty.jsonl", "{\"_id\": \"a\", \"title\": \"\", \"text\": \"  \"}\n").find(":1: record a: empty text") != std::string::npos);
    CHECK(message("noid.jsonl", "{\"text\": \"x\"}\n").find(":1: record: has no \"_id\"") != std::string::npos);
    CHECK(message("badjson.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\", \"text\": \n").find(":2") != std::string::npos);
    CHECK(message("dupkey.jsonl", "{\"_id\": \"a\", \"text\": \"x\", \"text\": \"y\"}\n").find(":1") != std::string::npos);
    CHECK(message("utf8.jsonl", "{\"_id\": \"a\", \"text\": \"\xff\"}\n").find(":1") != std::string::npos);
    CHECK(message("utf8.tsv", "a\tgood\nb\tbad \xc3\x28\n").find(":2:") != std::string::npos);
    CHECK(message("cols.tsv", "a\tb\tc\n").find(":1: row: 3 columns") != std::string::npos);
    CHECK(message("none.jsonl", "\n\n").find("no records") != std::string::npos);

    data::read_options skip;
    skip.skip_bad_rows = true;
    skip.max_bad_fraction = 0.5;
    data::read_stats stats;
    const auto kept = data::read_text_records(temp_file("skip.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\"}\n{\"_id\": \"c\", \"text\": \"z\"}\n"),
                                              skip, &stats);
    CHECK(kept.size() == 2);
    CHECK(stats.skipped == 1);
    skip.max_bad_fraction = 0.1;
    CHECK_THROWS_AS(data::read_text_records(temp_file("skip2.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\"}\n"), skip), format_error);
}

} }  // namespace test_beir
