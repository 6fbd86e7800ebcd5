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
    train_testing::small_config, train_testing::run_result, train_testing::run_to_end;

std::string file_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
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
    const auto data = train_testing::sts_retrieval_groups(24); // query, positive, the next row's positive
    for (const std::size_t chunk : {std::size_t{0}, std::size_t{3}}) {
        CAPTURE(chunk);
        auto o = train_testing::small_retrieval_options(chunk);
        o.dropout = chunk == 0; // chunked forwards replay dropout per chunk: compare without it there
        const auto run = [&]<class B>(std::type_identity<B>) {
            nn::bert_encoder<float, B> model(small_config(), 7);
            return run_to_end(model, train::trainer<float, B>(model, tok, data, o));
        };
        check_same_run(run(std::type_identity<backend::reference>{}), run(std::type_identity<fake_device>{}), 2);
    }
}

TEST_CASE("device backend: SMAE pre-training gives the reference's losses and weights") {
    const auto tok = train_testing::small_bert_tokenizer();
    const auto docs = train_testing::sts_documents(tok, 16);
    auto config = small_config();
    config.vocab_size = 8192;
    const auto o = train_testing::small_smae_options();
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
