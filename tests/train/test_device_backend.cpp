// SPDX-License-Identifier: Apache-2.0
// Everything above the backend on one the host may not touch (testing::fake_device: tagged
// pointers, the reference kernels): STS and retrieval fine-tuning (GradCache included), SMAE
// pre-training, checkpoints and their resume, and the STS grid run without a host
// dereference of device memory, and give bitwise the reference backend's results. This is
// how a GPU backend is driven, checked on a machine without one.
#include "fake_device.hpp"
#include "testing.hpp"
#include "train_testing.hpp"

#include <cstring>
#include <fstream>
#include <iterator>

#include <starbucks/eval/sts.hpp>
#include <starbucks/train/pretrainer.hpp>
#include <starbucks/train/trainer.hpp>

// Built with STARBUCKS_TEST_FAKE_DEVICE (on by default, off in the CI presets: instantiating the
// training stack for one more backend made the README's test command too long).
#ifdef STARBUCKS_TEST_FAKE_DEVICE

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_device_backend {

using namespace starbucks;
namespace mt = starbucks::matryoshka;
using starbucks::testing::fake_device;
using train_testing::weights_of, train_testing::bert_tokenizer, train_testing::stsb_test_rows, train_testing::fresh_dir,
    train_testing::small_config, train_testing::tests_dir;

std::string file_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using run_result = std::pair<std::vector<double>, std::vector<float>>;

/// Step losses, then the final weights, of trainer `t` (a trainer or pretrainer of `model`) run
/// to its end, checkpointing into `dir` when one is given.
template <class Model, class Trainer>
run_result run_to_end(const Model& model, Trainer&& t, const std::filesystem::path& dir = {}) {
    std::vector<double> losses;
    t.run([&](const train::step_report& r) { losses.push_back(r.loss); }, dir);
    return {losses, weights_of(model)};
}

/// The same steps on both backends: equal losses, and weights equal bit for bit.
void check_same_run(const run_result& ref, const run_result& dev, std::size_t steps) {
    REQUIRE(ref.first.size() == steps);
    CHECK(dev.first == ref.first);
    REQUIRE(dev.second.size() == ref.second.size());
    CHECK(std::memcmp(dev.second.data(), ref.second.data(), ref.second.size() * sizeof(float)) == 0);
}

/// STS SRL on backend B from the same seed, checkpointing into `dir`.
template <class B>
run_result sts_run(const train::trainer_options& o, const std::filesystem::path& dir) {
    const auto tok = bert_tokenizer();
    const auto data = stsb_test_rows(32);
    nn::bert_encoder<float, B> model(small_config(), 5);
    return run_to_end(model, train::trainer<float, B>(model, tok, data, o), dir);
}

train::trainer_options sts_options() {
    train::trainer_options o;
    o.objective.pairs = mt::pair_list::parse("1:4,2:8,3:16");
    o.batch_size = 8;
    o.max_length = 24;
    o.lr = 2e-3;
    o.seed = 5;
    o.max_steps = 3;
    o.save_steps = 1;
    o.dropout = true; // dropout masks are drawn by the backend: the same Philox words
    return o;
}

TEST_CASE("device backend: STS fine-tuning with dropout and checkpoints gives the reference's losses, weights and files, bit for bit") {
    const auto o = sts_options();
    fresh_dir ref_dir("device-ref"), dev_dir("device-fake");
    check_same_run(sts_run<backend::reference>(o, ref_dir.path), sts_run<fake_device>(o, dev_dir.path), 3);
    // Checkpoints are downloaded before they are written: the same bytes.
    const auto ref_saved = train::list_checkpoints(ref_dir.path), dev_saved = train::list_checkpoints(dev_dir.path);
    REQUIRE(!ref_saved.empty());
    REQUIRE(dev_saved.size() == ref_saved.size());
    for (const char* f : {"model.safetensors", "optimizer.safetensors"})
        CHECK(file_bytes(dev_saved.back() / f) == file_bytes(ref_saved.back() / f));
}

TEST_CASE("device backend: a run resumed from its checkpoint uploads weights and moments and ends bitwise where the straight run does") {
    const auto tok = bert_tokenizer();
    const auto data = stsb_test_rows(32);
    auto o = sts_options();
    o.max_steps = 4;
    o.save_steps = 2;
    fresh_dir dir("device-resume");
    nn::bert_encoder<float, fake_device> straight(small_config(), 5);
    {
        train::trainer<float, fake_device> t(straight, tok, data, o);
        t.run({}, dir.path);
    }
    const auto saved = train::list_checkpoints(dir.path);
    REQUIRE(!saved.empty());
    const auto at_2 = saved.front().parent_path() / "checkpoint-000002";
    REQUIRE(std::filesystem::exists(at_2));
    nn::bert_encoder<float, fake_device> resumed(small_config(), 99); // every value comes from the checkpoint
    train::trainer<float, fake_device> t(resumed, tok, data, o);
    t.resume(at_2);
    CHECK(t.state().step == 2);
    fresh_dir again("device-resume-again");
    t.run({}, again.path);
    const auto a = weights_of(straight), b = weights_of(resumed);
    REQUIRE(a.size() == b.size());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

TEST_CASE("device backend: retrieval fine-tuning, plain and with GradCache chunks, gives the reference's losses and weights") {
    const auto tok = bert_tokenizer();
    // Groups of a query, a positive and a negative: STS-B's two sentences and a third from the next row.
    const auto rows = stsb_test_rows(24);
    std::vector<train::example> data;
    for (std::size_t i = 0; i + 1 < rows.size(); ++i) {
        train::example e;
        e.texts = {rows[i].texts[0], rows[i].texts[1], rows[i + 1].texts[1]};
        data.push_back(std::move(e));
    }
    for (const std::size_t chunk : {std::size_t{0}, std::size_t{3}}) {
        CAPTURE(chunk);
        train::trainer_options o;
        o.objective.task = train::task_kind::retrieval;
        o.objective.pairs = mt::pair_list::parse("1:4,2:8,3:16");
        o.objective.group_size = 2;
        o.batch_size = 4;
        o.query_max_length = 16;
        o.passage_max_length = 24;
        o.lr = 5e-3;
        o.seed = 11;
        o.max_steps = 2;
        o.dropout = chunk == 0; // chunked forwards replay dropout per chunk: compare without it there
        o.grad_cache_chunk = chunk;
        const auto run = [&]<class B>(std::type_identity<B>) {
            nn::bert_encoder<float, B> model(small_config(), 7);
            return run_to_end(model, train::trainer<float, B>(model, tok, data, o));
        };
        check_same_run(run(std::type_identity<backend::reference>{}), run(std::type_identity<fake_device>{}), 2);
    }
}

TEST_CASE("device backend: SMAE pre-training gives the reference's losses and weights") {
    const auto tok = text::wordpiece(text::vocab::load_txt(tests_dir().parent_path() / "examples" / "models" / "small-bert" / "vocab.txt"));
    std::vector<std::vector<text::token_id>> docs;
    for (const auto& r : stsb_test_rows(16)) docs.push_back(tok.tokenize(r.texts[0] + " " + r.texts[1]));
    auto config = small_config();
    config.vocab_size = 8192;
    train::pretrainer_options o;
    o.pairs = mt::pair_list::parse("1:4,2:8,3:16");
    o.batch_size = 8;
    o.max_length = 24;
    o.lr = 3e-3;
    o.seed = 11;
    o.max_steps = 2;
    const auto run = [&]<class B>(std::type_identity<B>) {
        nn::bert_for_smae<float, B> model(config, 3);
        return run_to_end(model, train::pretrainer<float, B>(model, tok, docs, o));
    };
    check_same_run(run(std::type_identity<backend::reference>{}), run(std::type_identity<fake_device>{}), 2);
}

TEST_CASE("device backend: the STS grid equals the reference's, for mean and CLS pooling") {
    const auto tok = bert_tokenizer();
    const auto rows = stsb_test_rows(24);
    std::vector<eval::scored_pair> pairs;
    for (const auto& r : rows) pairs.push_back({r.texts[0], r.texts[1], r.score});
    nn::bert_encoder<float, backend::reference> ref_model(small_config(), 9);
    nn::bert_encoder<float, fake_device> dev_model(small_config(), 9);
    for (const auto pool : {eval::pooling::mean, eval::pooling::cls}) {
        eval::sts_options o;
        o.batch_size = 5;
        o.pool = pool;
        const auto sizes = eval::grid(3, {4, 16});
        const auto ref = eval::evaluate_sts(ref_model, tok, pairs, sizes, o);
        const auto dev = eval::evaluate_sts(dev_model, tok, pairs, sizes, o);
        REQUIRE(ref.size() == dev.size());
        for (std::size_t k = 0; k < ref.size(); ++k) CHECK(dev[k].spearman == ref[k].spearman);
    }
}

TEST_CASE("device backend: host code that reads device memory faults at once (the tag works)") {
    auto x = full<float, fake_device>(dextents<1>(4), 2.0f);
    CHECK(reinterpret_cast<std::uintptr_t>(x.data()) >= fake_device::tag);
    CHECK(item(sum(x)) == 8.0f);
    const auto h = host_copy(x);
    CHECK(h(3) == 2.0f);
    CHECK_THROWS_WITH_AS(item(x), doctest::Contains("is not a single value"), shape_error);
}

}} // namespace ::test_device_backend

#endif // STARBUCKS_TEST_FAKE_DEVICE
