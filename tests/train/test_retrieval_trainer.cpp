// SPDX-License-Identifier: Apache-2.0
// train::trainer with task retrieval on a small random BERT and real DL19-mini groups (a query,
// a judged passage, unjudged passages as negatives): retrieval SRL lowers its loss, negatives
// sampled from a larger pool resume bit for bit, every strategy names its terms, and too few
// negatives are refused.
#include "testing.hpp"
#include "train_testing.hpp"

#include <cstring>
#include <filesystem>
#include <map>

#include <starbucks/data/beir.hpp>
#include <starbucks/data/trec.hpp>
#include <starbucks/train/trainer.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_retrieval_trainer {

using namespace starbucks;
namespace mt = starbucks::matryoshka;
using train_testing::weights_of, train_testing::bert_tokenizer, train_testing::fresh_dir, train_testing::small_config, train_testing::tests_dir;

namespace {

/// `count` groups: a judged query, one of its relevant passages, then `negatives` passages not judged for it.
std::vector<train::example> dl19_groups(std::size_t count, std::size_t negatives) {
    const auto dir = tests_dir().parent_path() / "examples" / "data" / "msmarco-dl19-mini";
    std::map<std::string, std::string> passages, queries;
    for (auto& r : data::read_text_records((dir / "corpus.jsonl").string())) passages[r.id] = r.text;
    for (auto& r : data::read_text_records((dir / "queries.jsonl").string())) queries[r.id] = r.text;
    const auto qrels = data::read_qrels((dir / "qrels" / "test.tsv").string());
    std::vector<train::example> out;
    for (const auto& [qid, judged] : qrels.queries) {
        if (out.size() == count) break;
        train::example e;
        e.texts.push_back(queries.at(qid));
        for (const auto& [doc, grade] : judged)
            if (grade >= 2 && passages.contains(doc)) {
                e.texts.push_back(passages.at(doc));
                break;
            }
        if (e.texts.size() < 2) continue;
        for (const auto& [doc, text] : passages) {
            if (e.texts.size() == 2 + negatives) break;
            if (!judged.contains(doc) && (std::hash<std::string>{}(doc + qid) % 7 == 0)) e.texts.push_back(text);
        }
        out.push_back(std::move(e));
    }
    REQUIRE(out.size() == count);
    return out;
}

train::trainer_options retrieval_options() {
    train::trainer_options o;
    o.objective.task = train::task_kind::retrieval;
    o.objective.pairs = mt::pair_list::parse("1:4,2:8,3:16");
    o.objective.kl_weight = 1.0;
    o.objective.group_size = 3;
    o.batch_size = 4;
    o.query_max_length = 16;
    o.passage_max_length = 48;
    o.lr = 5e-3;
    o.seed = 11;
    return o;
}

/// Mean retrieval SRL loss over fixed groups (the first G−1 negatives), no dropout, no gradient.
double mean_loss(nn::bert_encoder<float>& m, const text::wordpiece& tok, const std::vector<train::example>& data, const train::trainer_options& o) {
    autograd::no_grad off;
    double sum = 0;
    std::size_t batches = 0;
    for (std::size_t begin = 0; begin + o.batch_size <= data.size(); begin += o.batch_size, ++batches) {
        std::vector<std::string_view> q, p;
        for (std::size_t r = 0; r < o.batch_size; ++r) {
            q.push_back(data[begin + r].texts[0]);
            for (std::size_t k = 1; k <= o.objective.group_size; ++k) p.push_back(data[begin + r].texts[k]);
        }
        const auto qb = starbucks::data::tokenize<float, backend::reference>(tok, q, o.query_max_length, 30522, "test");
        const auto pb = starbucks::data::tokenize<float, backend::reference>(tok, p, o.passage_max_length, 30522, "test");
        sum += train::retrieval_objective(o.objective, m(qb.ids, qb.mask), m(pb.ids, pb.mask), 0).total();
    }
    return sum / double(batches);
}

} // namespace

TEST_CASE("trainer retrieval: SRL on real DL19-mini groups lowers the loss of a small BERT") {
    const auto tok = bert_tokenizer();
    const auto data = dl19_groups(16, 2);
    nn::bert_encoder<float> model(small_config(), 3);
    auto o = retrieval_options();
    o.epochs = 8;
    o.dropout = false;
    const double before = mean_loss(model, tok, data, o);
    train::trainer<float, backend::reference> t(model, tok, data, o);
    std::vector<train::step_report> reports;
    t.run([&](const train::step_report& r) { reports.push_back(r); });
    const double after = mean_loss(model, tok, data, o);
    MESSAGE("mean retrieval SRL loss before " << before << ", after " << after);
    CHECK(after < 0.8 * before);
    REQUIRE(reports.size() == 32);
    REQUIRE(reports[0].terms.size() == 5);
    CHECK(reports[0].terms[0].name == "ce_n1_d4");
    CHECK(reports[0].terms[1].name == "kl_n1_d4");
    CHECK(reports[0].terms[4].name == "ce_n3_d16");
}

TEST_CASE("trainer retrieval: negatives drawn from a larger pool resume to bitwise the weights of an uninterrupted run") {
    const auto tok = bert_tokenizer();
    const auto data = dl19_groups(12, 5); // pool of 5, 2 drawn per step
    auto o = retrieval_options();
    o.max_steps = 6;
    o.save_steps = 3;
    nn::bert_encoder<float> straight(small_config(), 4);
    {
        train::trainer<float, backend::reference> t(straight, tok, data, o);
        t.run({});
    }
    fresh_dir dir("retrieval-resume");
    nn::bert_encoder<float> killed(small_config(), 4);
    {
        train::trainer<float, backend::reference> t(killed, tok, data, o);
        struct killed_at_step_4 {};
        CHECK_THROWS_AS(t.run([](const train::step_report& r) { if (r.step == 4) throw killed_at_step_4{}; }, dir.path), killed_at_step_4);
    }
    nn::bert_encoder<float> resumed(small_config(), 99);
    train::trainer<float, backend::reference> t(resumed, tok, data, o);
    t.resume(train::list_checkpoints(dir.path).back());
    CHECK(t.state().step == 3);
    t.run({}, dir.path);
    const auto a = weights_of(straight), b = weights_of(resumed);
    REQUIRE(a.size() == b.size());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    // a different seed draws other negatives: other weights
    auto other = o;
    other.seed = 12;
    nn::bert_encoder<float> reseeded(small_config(), 4);
    train::trainer<float, backend::reference>(reseeded, tok, data, other).run({});
    const auto c = weights_of(reseeded);
    CHECK(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)) != 0);
}

TEST_CASE("trainer retrieval: full, separate and 2dmse name their terms; too few negatives is a usage error") {
    const auto tok = bert_tokenizer();
    const auto data = dl19_groups(4, 2);
    const std::vector<std::pair<train::strategy, std::vector<std::string>>> expected{
        {train::strategy::full, {"ce_n3_d16"}},
        {train::strategy::separate, {"ce_n3_d16"}},
        {train::strategy::twodmse, {"ce_last_d", "ce_layer", "kl_layer"}}};
    for (const auto& entry : expected) { // not a structured binding: clang 14 cannot capture one (CAPTURE)
        const auto method = entry.first;
        const auto& names = entry.second;
        auto o = retrieval_options();
        o.objective.method = method;
        o.max_steps = 1;
        nn::bert_encoder<float> m(small_config(), 5);
        train::trainer<float, backend::reference> t(m, tok, data, o);
        std::vector<train::step_report> reports;
        t.run([&](const train::step_report& r) { reports.push_back(r); });
        REQUIRE(reports.size() == 1);
        CAPTURE(train::to_string(method));
        REQUIRE(reports[0].terms.size() >= names.size());
        for (std::size_t i = 0; i < names.size(); ++i) CHECK(reports[0].terms[i].name.rfind(names[i], 0) == 0);
        CHECK(std::isfinite(reports[0].loss));
    }
    auto o = retrieval_options();
    o.objective.group_size = 4; // needs 3 negatives, the groups have 2
    nn::bert_encoder<float> m(small_config(), 5);
    using trainer_t = train::trainer<float, backend::reference>;
    CHECK_THROWS_WITH_AS(trainer_t(m, tok, data, o), doctest::Contains("example 1 has 2 hard negatives; a group of 4 passages needs 3"), usage_error);
}

namespace {

/// Every parameter gradient of the model, concatenated in parameter order (zeros where none).
std::vector<double> grads_of(const nn::bert_encoder<float>& m) {
    std::vector<double> out;
    for (const auto& [name, value] : m.parameters())
        std::visit([&](const auto& v) {
            if (!v.has_grad()) {
                out.insert(out.end(), v.size(), 0.0);
                return;
            }
            const auto g = contiguous(v.grad());
            out.insert(out.end(), g.data(), g.data() + g.size());
        }, value);
    return out;
}

double normwise(const std::vector<double>& got, const std::vector<double>& want) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < got.size(); ++i) num += (got[i] - want[i]) * (got[i] - want[i]), den += want[i] * want[i];
    return std::sqrt(num / den);
}

} // namespace

TEST_CASE("trainer retrieval: GradCache gives the plain large batch's gradients, in chunks and with dropout replayed") {
    const auto tok = bert_tokenizer();
    const auto data = dl19_groups(8, 4);
    for (const bool dropout : {false, true}) {
        for (const std::size_t chunk : {3u, 64u}) {
            if (dropout && chunk == 3) continue; // chunked forwards draw other dropout masks than the whole batch's
            CAPTURE(dropout);
            CAPTURE(chunk);
            auto o = retrieval_options();
            o.batch_size = 8;      // 8 queries, 24 passages
            o.dropout = dropout;
            nn::bert_encoder<float> plain_model(small_config(), 7), cached_model(small_config(), 7);
            train::trainer<float, backend::reference> plain(plain_model, tok, data, o);
            auto c = o;
            c.grad_cache_chunk = chunk;
            train::trainer<float, backend::reference> cached(cached_model, tok, data, c);
            const auto a = plain.backward_batch(0, 0), b = cached.backward_batch(0, 0);
            CHECK(a.total() == doctest::Approx(b.total()).epsilon(1e-5));
            REQUIRE(a.terms().size() == b.terms().size());
            const auto ga = grads_of(plain_model), gb = grads_of(cached_model);
            REQUIRE(ga.size() == gb.size());
            const double err = normwise(gb, ga);
            MESSAGE("GradCache chunk " << chunk << std::string(dropout ? " (dropout on)" : "") << ": normwise gradient error " << err);
            CHECK(err < 1e-4);
            CHECK(cached_model.training_forwards() == plain_model.training_forwards());
        }
    }
}

} }  // namespace test_retrieval_trainer
