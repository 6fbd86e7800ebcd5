// SPDX-License-Identifier: Apache-2.0
// eval ranking metrics and data::read_qrels / read_run against pytrec_eval (trec_eval 9.0.8) on
// real BM25 run files over the shipped SciFact and DL19-mini sets, one of them tie-heavy
// (tests/fixtures/retrieval/generate_metrics.py made them).
#include "testing.hpp"

#include <starbucks/data/trec.hpp>
#include <starbucks/eval/metrics.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>
#include <string>

#include <nlohmann/json.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_metrics {

using namespace starbucks;

namespace {

std::string fixture(const std::string& name) { return std::string(STARBUCKS_RETRIEVAL_FIXTURES) + "/" + name; }

/// Writes `text` to a fresh file under the temp folder and returns its path.
std::string temp_file(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / ("starbucks-test-metrics-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
}

std::string error_of(const std::string& path, bool run) {
    try {
        if (run) data::read_run(path);
        else data::read_qrels(path);
    } catch (const format_error& e) {
        return e.what();
    }
    return "no error";
}

} // namespace

TEST_CASE("eval metrics: every query and mean equal pytrec_eval's on real BM25 runs, tie-heavy and graded ones included") {
    std::ifstream in(fixture("metrics.json"));
    REQUIRE(in.good());
    const auto doc = nlohmann::json::parse(in);
    REQUIRE(doc.at("runs").size() == 5);
    for (const auto& c : doc.at("runs")) {
        const std::string name = c.at("run").get<std::string>() + " level " + std::to_string(c.at("relevance_level").get<int>());
        INFO(name);
        const auto r = data::read_run(fixture(c.at("run").get<std::string>()));
        const auto q = data::read_qrels(std::string(STARBUCKS_EXAMPLES_DATA_DIR) + "/" + c.at("qrels").get<std::string>());
        const auto e = eval::evaluate_run(r, q, {c.at("relevance_level").get<int>()});
        REQUIRE(e.queries == c.at("queries").get<std::size_t>());
        std::size_t checked = 0;
        for (const auto& item : c.at("per_query").items()) {
            const std::string& qid = item.key(); // not a structured binding: INFO captures it in a lambda
            const auto& m = item.value();
            INFO("query " << qid);
            REQUIRE(e.per_query.contains(qid));
            const auto& s = e.per_query.at(qid);
            CHECK(std::abs(s.ndcg_10 - m.at("ndcg@10").get<double>()) <= 1e-12);
            CHECK(std::abs(s.mrr_10 - m.at("mrr@10").get<double>()) <= 1e-12);
            CHECK(std::abs(s.recall_100 - m.at("recall@100").get<double>()) <= 1e-12);
            CHECK(std::abs(s.recall_1000 - m.at("recall@1000").get<double>()) <= 1e-12);
            CHECK(std::abs(s.map - m.at("map").get<double>()) <= 1e-12);
            ++checked;
        }
        CHECK(checked == e.per_query.size());
        const auto& mean = c.at("mean");
        CHECK(std::abs(e.mean.ndcg_10 - mean.at("ndcg@10").get<double>()) <= 1e-9);
        CHECK(std::abs(e.mean.mrr_10 - mean.at("mrr@10").get<double>()) <= 1e-9);
        CHECK(std::abs(e.mean.recall_100 - mean.at("recall@100").get<double>()) <= 1e-9);
        CHECK(std::abs(e.mean.map - mean.at("map").get<double>()) <= 1e-9);
    }
}

TEST_CASE("eval metrics: the fixture runs exercise what they claim (ties, a missing query, unjudged queries, grades)") {
    const auto ties = data::read_run(fixture("ties-msmarco.run"));
    std::size_t tied = 0;
    for (const auto& [qid, docs] : ties)
        for (std::size_t i = 1; i < docs.size(); ++i) tied += docs[i].score == docs[i - 1].score;
    CHECK(tied > 1000);
    const auto sci = eval::evaluate_run(data::read_run(fixture("bm25-scifact.run")),
                                        data::read_qrels(std::string(STARBUCKS_EXAMPLES_DATA_DIR) + "/beir-scifact/qrels/test.tsv"));
    CHECK(sci.missing == 1);
    CHECK(sci.per_query.at("1").ndcg_10 == 0.0);
    const auto ms = eval::evaluate_run(data::read_run(fixture("bm25-msmarco.run")),
                                       data::read_qrels(std::string(STARBUCKS_EXAMPLES_DATA_DIR) + "/msmarco-dl19-mini/qrels/test.tsv"));
    CHECK(ms.unjudged == 7);
    CHECK(ms.queries == 43);
}

TEST_CASE("eval per_query_tsv: a header and one line per averaged query whose means are the run's means") {
    const auto e = eval::evaluate_run(data::read_run(fixture("bm25-scifact.run")),
                                      data::read_qrels(std::string(STARBUCKS_EXAMPLES_DATA_DIR) + "/beir-scifact/qrels/test.tsv"));
    std::istringstream in(eval::per_query_tsv(e));
    std::string line;
    std::getline(in, line);
    CHECK(line == "query_id\tndcg@10\tmrr@10\trecall@100\trecall@1000\tmap");
    std::size_t rows = 0;
    double sums[5] = {};
    std::string previous;
    while (std::getline(in, line)) {
        std::istringstream cells(line);
        std::string qid;
        cells >> qid;
        CHECK(e.per_query.contains(qid));
        CHECK((rows == 0 || previous < qid)); // id order, each once
        previous = qid;
        for (double& sum : sums) {
            double v = -1;
            cells >> v;
            CHECK((v >= 0 && v <= 1));
            sum += v;
        }
        ++rows;
    }
    REQUIRE(rows == e.queries);
    const double means[5] = {e.mean.ndcg_10, e.mean.mrr_10, e.mean.recall_100, e.mean.recall_1000, e.mean.map};
    for (int k = 0; k < 5; ++k) CHECK(std::abs(sums[k] / double(rows) - means[k]) <= 5e-7);
}

TEST_CASE("eval sort_trec: ties fall back to document id in decreasing byte order, as trec_eval's") {
    std::vector<data::scored_doc> d{{"a", 1.0}, {"b", 1.0}, {"c", 2.0}, {"x", 1.0}, {"\xc3\xa9", 1.0}};
    eval::sort_trec(d);
    CHECK(d[0].doc == "c");
    CHECK(d[1].doc == "\xc3\xa9"); // 0xc3 sorts above ASCII, as strcmp on unsigned bytes
    CHECK(d[2].doc == "x");
    CHECK(d[3].doc == "b");
    CHECK(d[4].doc == "a");
    // hand check: grades a 2, b 1; c not relevant → ranks c é x b a; RR@10 = 1/4; nDCG@10 from linear gains
    const data::judgments j{{"a", 2}, {"b", 1}, {"c", -1}};
    CHECK(eval::reciprocal_rank_at(d, j, 10) == doctest::Approx(0.25));
    CHECK(eval::reciprocal_rank_at(d, j, 3) == 0.0);
    const double dcg = 1 / std::log2(5.0) + 2 / std::log2(6.0), ideal = 2 + 1 / std::log2(3.0);
    CHECK(eval::ndcg_at(d, j, 10) == doctest::Approx(dcg / ideal).epsilon(1e-12));
}

TEST_CASE("data read_qrels: TREC and BEIR forms, header optional; malformed rows name file:line") {
    const auto trec = data::read_qrels(temp_file("trec.qrels", "q1 0 d1 1\nq1 0 d2 0\nq2 0 d1 2\n"));
    CHECK(trec.lines == 3);
    CHECK(trec.queries.at("q2").at("d1") == 2);
    const auto beir = data::read_qrels(temp_file("beir.tsv", "query-id\tcorpus-id\tscore\nq 1\td 1\t1\n"));
    CHECK(beir.queries.at("q 1").at("d 1") == 1); // TAB-separated ids may hold spaces
    CHECK(error_of(temp_file("dup.qrels", "q1 0 d1 1\nq1 0 d1 2\n"), false).find(":2: document d1: judged twice for query q1 (first at line 1)") !=
          std::string::npos);
    CHECK(error_of(temp_file("grade.qrels", "q1 0 d1 1\nq1 0 d2 x\n"), false).find(":2: grade \"x\": is not an integer") != std::string::npos);
    CHECK(error_of(temp_file("cols.qrels", "q1 0 d1 1\nq1 d2 1\n"), false).find(":2: qrels row: 3 columns, expected 4") != std::string::npos);
    CHECK(error_of(temp_file("empty.qrels", "\n"), false).find("no judgments") != std::string::npos);
    CHECK(error_of(temp_file("utf8.qrels", "q1 0 d\xff 1\n"), false).find("invalid UTF-8") != std::string::npos);
}

TEST_CASE("data read_run: NaN, inf, duplicates and short rows are errors naming file:line") {
    CHECK(error_of(temp_file("nan.run", "q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 nan t\n"), true).find(":2: score \"nan\": is not a finite number") !=
          std::string::npos);
    CHECK(error_of(temp_file("inf.run", "q1 Q0 d1 1 inf t\n"), true).find(":1: score \"inf\"") != std::string::npos);
    CHECK(error_of(temp_file("dup.run", "q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n"), true).find(":2: document d1: listed twice for query q1") !=
          std::string::npos);
    CHECK(error_of(temp_file("short.run", "q1 Q0 d1 1 0.5\n"), true).find(":1: run row: 5 columns") != std::string::npos);
}

TEST_CASE("data format_score and append_run_lines: written scores read back as the same floats") {
    for (float v : {0.1f, 1.0f / 3.0f, -12345.678f, 1e-7f, 0.0f, 98765.4321f}) {
        const std::string s = data::format_score(v);
        CHECK(std::strtof(s.c_str(), nullptr) == v);
    }
    std::string out;
    data::append_run_lines(out, "q9", {{"d2", 0.75f}, {"d1", 0.5f}}, "starbucks");
    CHECK(out == "q9 Q0 d2 1 0.75 starbucks\nq9 Q0 d1 2 0.5 starbucks\n");
    const auto r = data::read_run(temp_file("written.run", out));
    CHECK(r.at("q9").size() == 2);
    CHECK(r.at("q9")[1].score == 0.5);
}

} }  // namespace test_metrics
