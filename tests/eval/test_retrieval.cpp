// SPDX-License-Identifier: Apache-2.0
// eval/retrieval.hpp: the one-pass blocked search equals scoring every (query, document) pair on
// its own (encoder stopped after n layers, pooled, cut to d, dot or cosine, full sort in trec_eval
// order), across blocks, batches and heaps; its run files read back to the same metrics.
#include "testing.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <starbucks/eval/retrieval.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_retrieval {

using namespace starbucks;
namespace fs = std::filesystem;
namespace mt = starbucks::matryoshka;

namespace {

fs::path tests_dir() { return fs::path(__FILE__).parent_path().parent_path(); }
fs::path examples_data() { return tests_dir().parent_path() / "examples" / "data"; }

nn::bert_encoder<float> small_model() {
    nn::bert_config c;
    c.vocab_size = 30522;
    c.hidden_size = 16;
    c.num_hidden_layers = 3;
    c.num_attention_heads = 2;
    c.intermediate_size = 32;
    c.max_position_embeddings = 64;
    return nn::bert_encoder<float>(c, 23);
}

/// The first `n` documents of the shipped DL19-mini corpus, as a JSONL file of their own.
std::string small_corpus(std::size_t n) {
    // one file per size and process: ctest runs the cases of this suite in parallel
    const auto path = fs::temp_directory_path() / ("starbucks-test-retrieval-corpus-" + std::to_string(n) + "-" + std::to_string(::getpid()) + ".jsonl");
    std::ifstream in(examples_data() / "msmarco-dl19-mini" / "corpus.jsonl");
    std::ofstream out(path);
    std::string line;
    for (std::size_t i = 0; i < n && std::getline(in, line); ++i) out << line << "\n";
    return path.string();
}

std::vector<float> embed_one(nn::bert_encoder<float>& m, const text::wordpiece& tok, const std::string& text, std::size_t layers,
                             std::size_t max_length, eval::pooling pool) {
    autograd::no_grad off;
    const auto enc = tok.encode_batch({std::string_view(text)}, text::encode_options{max_length, true, text::padding::longest});
    nn::id_tensor<backend::reference> ids(1, enc[0].ids.size());
    nn::mask_tensor<float, backend::reference> mask(1, enc[0].ids.size());
    for (std::size_t t = 0; t < enc[0].ids.size(); ++t) ids(0, t) = enc[0].ids[t], mask(0, t) = 1;
    const auto h = m(ids, mask, layers);
    const auto p = pool == eval::pooling::mean ? contiguous(nn::mean_pooling(h.back(), mask).value()) : contiguous(nn::cls_pooling(h.back()).value());
    return {p.data(), p.data() + m.config.hidden_size};
}

} // namespace

TEST_CASE("eval search: every size's ranking equals the brute-force one, for dot/CLS and cosine/mean, across blocks and batches") {
    const auto tok = text::wordpiece::load(tests_dir() / "fixtures" / "tokenizer");
    auto model = small_model();
    const auto corpus_path = small_corpus(45);
    const auto docs = data::read_text_records(corpus_path);
    auto queries = data::read_text_records((examples_data() / "msmarco-dl19-mini" / "queries.jsonl").string());
    queries.resize(6);
    const std::vector<mt::size_pair> sizes{{1, 16}, {3, 4}, {3, 9}, {2, 16}, {3, 16}};
    for (const auto& [score, pool] : {std::pair{eval::similarity::dot, eval::pooling::cls}, std::pair{eval::similarity::cosine, eval::pooling::mean}}) {
        eval::retrieval_options o;
        o.score = score;
        o.pool = pool;
        o.depth = 7;
        o.block = 16; // three blocks, the heaps carried across them
        o.batch_size = 5;
        o.query_max_length = 16;
        o.passage_max_length = 40;
        o.query_prefix = "query: ";
        data::text_record_reader corpus(corpus_path);
        std::size_t blocks = 0;
        o.on_block = [&](std::size_t) { ++blocks; };
        const auto found = eval::search(model, tok, queries, corpus, sizes, o);
        CHECK(blocks == 3);
        REQUIRE(found.doc_ids.size() == 45);
        for (std::size_t k = 0; k < sizes.size(); ++k) {
            const auto [n, d] = sizes[k];
            CAPTURE(mt::to_string(sizes[k]));
            std::vector<std::vector<float>> dv;
            for (const auto& doc : docs) dv.push_back(embed_one(model, tok, doc.text, n, 40, pool));
            for (std::size_t q = 0; q < queries.size(); ++q) {
                const auto qv = embed_one(model, tok, "query: " + queries[q].text, n, 16, pool);
                std::vector<data::scored_doc> brute;
                for (std::size_t i = 0; i < docs.size(); ++i) {
                    double dot = 0, qq = 0, dd = 0;
                    for (std::size_t c = 0; c < d; ++c) dot += double(qv[c]) * dv[i][c], qq += double(qv[c]) * qv[c], dd += double(dv[i][c]) * dv[i][c];
                    brute.push_back({docs[i].id, score == eval::similarity::dot ? dot : dot / std::sqrt(qq * dd)});
                }
                eval::sort_trec(brute);
                const auto got = found.ranking(k, q);
                REQUIRE(got.size() == 7);
                for (std::size_t r = 0; r < got.size(); ++r) {
                    CHECK(got[r].score == doctest::Approx(brute[r].score).epsilon(1e-4));
                    const auto it = std::find_if(brute.begin(), brute.end(), [&](const auto& b) { return b.doc == got[r].doc; });
                    REQUIRE(it != brute.end());
                    CHECK(it->score == doctest::Approx(got[r].score).epsilon(1e-4)); // the doc at rank r really scores that
                    if (r > 0) CHECK(got[r - 1].score >= got[r].score);
                }
            }
        }
    }
}

TEST_CASE("eval search: run files read back to the same metrics; bad sizes and empty input are usage errors") {
    const auto tok = text::wordpiece::load(tests_dir() / "fixtures" / "tokenizer");
    auto model = small_model();
    const auto corpus_path = small_corpus(30);
    auto queries = data::read_text_records((examples_data() / "msmarco-dl19-mini" / "queries.jsonl").string());
    queries.resize(8);
    const auto qrels = data::read_qrels((examples_data() / "msmarco-dl19-mini" / "qrels" / "test.tsv").string());
    eval::retrieval_options o;
    o.depth = 30;
    o.passage_max_length = 65;
    data::text_record_reader first(corpus_path);
    CHECK_THROWS_WITH_AS(eval::search(model, tok, queries, first, {{2, 8}}, o), doctest::Contains("passage_max_length 65 is outside 2..max_position_embeddings (64)"),
                         usage_error);
    o.passage_max_length = 64;
    data::text_record_reader corpus(corpus_path);
    const auto found = eval::search(model, tok, queries, corpus, {{2, 8}, {3, 16}}, o);
    const auto results = eval::evaluate_retrieval(found, qrels);
    REQUIRE(results.size() == 2);
    for (std::size_t k = 0; k < 2; ++k) {
        const auto path = fs::temp_directory_path() / ("starbucks-test-retrieval-" + std::to_string(k) + "-" + std::to_string(::getpid()) + ".run");
        std::ofstream(path) << found.run_file(k, "test");
        const auto again = eval::evaluate_run(data::read_run(path.string()), qrels);
        CHECK(again.mean.ndcg_10 == results[k].metrics.mean.ndcg_10);
        CHECK(again.mean.map == results[k].metrics.mean.map);
        CHECK(again.queries == results[k].metrics.queries);
    }
    data::text_record_reader again(corpus_path);
    CHECK_THROWS_WITH_AS(eval::search(model, tok, queries, again, {{4, 8}}, o), doctest::Contains("(4,8) is outside the model"), usage_error);
    CHECK_THROWS_AS(eval::search(model, tok, {}, again, {{1, 8}}, o), usage_error);
}

TEST_CASE("eval search_embedded: corpus vectors saved, reloaded and searched again give the same rankings") {
    const auto tok = text::wordpiece::load(tests_dir() / "fixtures" / "tokenizer");
    auto model = small_model();
    const auto corpus_path = small_corpus(25);
    auto queries = data::read_text_records((examples_data() / "msmarco-dl19-mini" / "queries.jsonl").string());
    queries.resize(5);
    eval::retrieval_options o;
    o.depth = 10;
    o.block = 7;
    o.passage_max_length = 64;
    const std::vector<mt::size_pair> sizes{{1, 8}, {3, 4}, {3, 16}};
    data::text_record_reader corpus(corpus_path);
    eval::corpus_embeddings kept;
    kept.settings["pooling"] = "cls";
    const auto found = eval::search(model, tok, queries, corpus, sizes, o, &kept);
    REQUIRE(kept.doc_ids.size() == 25);
    CHECK(kept.layers == std::vector<std::size_t>{1, 3});
    const auto dir = fs::temp_directory_path() / ("starbucks-test-corpus-embeddings-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    eval::save_corpus_embeddings(kept, dir);
    const auto loaded = eval::load_corpus_embeddings(dir);
    CHECK(loaded.settings.at("pooling") == "cls");
    CHECK(loaded.settings.at("documents") == "25");
    CHECK(loaded.vectors == kept.vectors);
    const auto again = eval::search_embedded(model, tok, queries, loaded, sizes, o);
    for (std::size_t k = 0; k < sizes.size(); ++k)
        for (std::size_t q = 0; q < queries.size(); ++q) {
            const auto a = found.ranking(k, q), b = again.ranking(k, q);
            REQUIRE(a.size() == b.size());
            for (std::size_t r = 0; r < a.size(); ++r) CHECK((a[r].doc == b[r].doc && a[r].score == b[r].score));
        }
    CHECK_THROWS_WITH_AS(eval::search_embedded(model, tok, queries, loaded, {{2, 8}}, o), doctest::Contains("no layer 2"), usage_error);
    std::ofstream(dir / "doc_ids.json") << "[\"a\", \"b\"]";
    CHECK_THROWS_WITH_AS(eval::load_corpus_embeddings(dir), doctest::Contains("25 rows for 2 ids"), format_error);
    fs::remove_all(dir);
}

} }  // namespace test_retrieval
