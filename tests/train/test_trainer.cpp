// SPDX-License-Identifier: Apache-2.0
// train/trainer.hpp on a small random BERT with the uncased BERT tokenizer and real STS-B rows:
// the loss falls, a run killed after a checkpoint resumes to bitwise the same weights, non-finite
// steps stop (or are skipped) without saving, and a failed checkpoint keeps the previous one.
#include "testing.hpp"
#include "train_testing.hpp"

#include <filesystem>
#include <fstream>
#include <limits>

#include <starbucks/train/trainer.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_trainer {

using namespace starbucks;
namespace fs = std::filesystem;
namespace mt = starbucks::matryoshka;
using train_testing::weights_of, train_testing::bert_tokenizer, train_testing::stsb_test_rows, train_testing::fresh_dir, train_testing::small_config, train_testing::tests_dir;

namespace {

train::trainer_options small_options() {
    train::trainer_options o;
    o.objective.pairs = mt::pair_list::parse("1:4,2:8,3:16");
    o.batch_size = 8;
    o.max_length = 24;
    o.lr = 2e-3;
    o.warmup_ratio = 0.1;
    o.seed = 5;
    return o;
}

/// Mean SRL loss over the data, no dropout, no gradient.
double mean_loss(nn::bert_encoder<float>& m, const text::wordpiece& tok, const std::vector<train::example>& data,
                 const train::trainer_options& o) {
    autograd::no_grad off;
    double sum = 0;
    std::size_t batches = 0;
    for (std::size_t begin = 0; begin + o.batch_size <= data.size(); begin += o.batch_size, ++batches) {
        std::vector<std::string_view> texts;
        train::batch_layout<float> layout{o.batch_size, 2, {}};
        for (std::size_t c = 0; c < 2; ++c)
            for (std::size_t r = 0; r < o.batch_size; ++r) texts.push_back(data[begin + r].texts[c]);
        for (std::size_t r = 0; r < o.batch_size; ++r) layout.scores.push_back(static_cast<float>(data[begin + r].score));
        const auto enc = tok.encode_batch(texts, text::encode_options{o.max_length, true, text::padding::longest});
        nn::id_tensor<backend::reference> ids(enc.size(), enc[0].ids.size());
        nn::mask_tensor<float, backend::reference> mask(enc.size(), enc[0].ids.size());
        for (std::size_t i = 0; i < enc.size(); ++i)
            for (std::size_t t = 0; t < enc[0].ids.size(); ++t) ids(i, t) = enc[i].ids[t], mask(i, t) = float(enc[i].attention_mask[t]);
        auto opts = o.objective;
        sum += train::objective(opts, m(ids, mask), mask, layout, 0).total();
    }
    return sum / double(batches);
}

} // namespace

TEST_CASE("trainer: SRL fine-tuning on real STS-B pairs lowers the loss of a small BERT") {
    const auto tok = bert_tokenizer();
    const auto data = stsb_test_rows(64);
    nn::bert_encoder<float> model(small_config(), 3);
    auto o = small_options();
    o.epochs = 6;
    o.lr = 1e-2;
    o.dropout = false;
    const double before = mean_loss(model, tok, data, o);
    train::trainer<float, backend::reference> t(model, tok, data, o);
    CHECK(t.total_steps() == 6 * 8);
    std::vector<train::step_report> reports;
    t.run([&](const train::step_report& r) { reports.push_back(r); });
    const double after = mean_loss(model, tok, data, o);
    MESSAGE("mean SRL loss before " << before << ", after " << after);
    CHECK(after < 0.8 * before);
    REQUIRE(reports.size() == 48);
    CHECK(reports[0].lr == 0.0);                     // warm-up starts at zero
    CHECK(reports[5].lr == doctest::Approx(o.lr));   // ceil(0.1 · 48) = 5 warm-up steps
    CHECK(reports.back().epoch == 5);
    CHECK(reports[0].terms.size() == 5);
    CHECK(reports[0].terms[4].name == "loss_n3_d16");
}

TEST_CASE("trainer: precision bf16 multiplies rounded operands, is deterministic, stays close to f32 and ends with f32") {
    const auto tok = bert_tokenizer();
    const auto data = stsb_test_rows(32);
    auto o = small_options();
    o.max_steps = 4;
    o.dropout = false;
    const auto train_with = [&](matmul_precision p, std::vector<double>& losses) {
        nn::bert_encoder<float> model(small_config(), 3);
        auto run = o;
        run.precision = p;
        train::trainer<float, backend::reference> t(model, tok, data, run);
        t.run([&](const train::step_report& r) { losses.push_back(r.loss); });
        CHECK(current_matmul_precision() == matmul_precision::f32); // the loop's scope is closed
        return weights_of(model);
    };
    std::vector<double> loss32, loss16, loss16_again;
    const auto w32 = train_with(matmul_precision::f32, loss32);
    const auto w16 = train_with(matmul_precision::bf16, loss16);
    const auto w16_again = train_with(matmul_precision::bf16, loss16_again);
    REQUIRE(loss32.size() == 4);
    REQUIRE(loss16.size() == 4);
    CHECK(w16 == w16_again); // bitwise: the rounding is deterministic
    CHECK(loss16 == loss16_again);
    // The same start: the first losses differ only by bf16 rounding of the GEMM operands.
    CHECK(loss16[0] != loss32[0]);
    CHECK(std::abs(loss16[0] - loss32[0]) <= 1e-2 * std::abs(loss32[0]));
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < w32.size(); ++i) {
        diff += (double(w16[i]) - w32[i]) * (double(w16[i]) - w32[i]);
        norm += double(w32[i]) * w32[i];
    }
    MESSAGE("first loss f32 " << loss32[0] << ", bf16 " << loss16[0] << "; weights after 4 steps differ by " << std::sqrt(diff / norm)
                              << " (relative)");
    CHECK(diff > 0);
    CHECK(std::sqrt(diff / norm) < 1e-2);
}

TEST_CASE("trainer: a run killed after a checkpoint resumes to bitwise the weights of an uninterrupted run") {
    const auto tok = bert_tokenizer();
    const auto data = stsb_test_rows(40);
    auto o = small_options();
    o.max_steps = 7;
    o.save_steps = 3;
    o.accumulation = 2;  // micro-batches cross the epoch boundary (5 batches per epoch)
    o.batch_size = 8;

    nn::bert_encoder<float> straight(small_config(), 4);
    {
        train::trainer<float, backend::reference> t(straight, tok, data, o);
        t.run({});
    }
    fresh_dir dir("resume");
    nn::bert_encoder<float> killed(small_config(), 4);
    {
        train::trainer<float, backend::reference> t(killed, tok, data, o);
        struct killed_at_step_5 {};
        CHECK_THROWS_AS(t.run([](const train::step_report& r) { if (r.step == 5) throw killed_at_step_5{}; }, dir.path), killed_at_step_5);
    }
    const auto saved = train::list_checkpoints(dir.path);
    REQUIRE(saved.size() == 1);
    CHECK(saved[0].filename() == "checkpoint-000003");
    nn::bert_encoder<float> resumed(small_config(), 99); // different init: everything comes from the checkpoint
    train::trainer<float, backend::reference> t(resumed, tok, data, o);
    t.resume(saved[0]);
    CHECK(t.state().step == 3);
    t.run({}, dir.path);
    const auto a = weights_of(straight), b = weights_of(resumed);
    REQUIRE(a.size() == b.size());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    CHECK(train::list_checkpoints(dir.path).size() == 2); // steps 6 and 7 kept, 3 removed
    CHECK(train::list_checkpoints(dir.path).back().filename() == "checkpoint-000007");

    auto other = o;
    other.lr = 1e-3;
    nn::bert_encoder<float> m(small_config(), 4);
    train::trainer<float, backend::reference> mismatched(m, tok, data, other);
    CHECK_THROWS_WITH_AS(mismatched.resume(saved[0].parent_path() / "checkpoint-000007"), doctest::Contains("option \"lr\""), usage_error);
}

TEST_CASE("trainer: a NaN loss stops with the step number, or is skipped and counted, never saved") {
    const auto tok = bert_tokenizer();
    const auto data = stsb_test_rows(16);
    auto o = small_options();
    o.max_steps = 2;
    nn::bert_encoder<float> model(small_config(), 6);
    model.layers[0].ffn.output.bias.mutable_value()(3) = std::numeric_limits<float>::quiet_NaN();
    fresh_dir dir("nan");
    {
        train::trainer<float, backend::reference> t(model, tok, data, o);
        CHECK_THROWS_WITH_AS(t.run({}, dir.path), doctest::Contains("step 1"), numeric_error);
        CHECK(train::list_checkpoints(dir.path).empty());
    }
    o.skip_non_finite = true;
    const auto before = weights_of(model);
    train::trainer<float, backend::reference> t(model, tok, data, o);
    std::size_t skipped = 0;
    t.run([&](const train::step_report& r) { skipped += r.skipped; });
    CHECK(skipped == 2);
    CHECK(t.state().skipped_steps == 2);
    const auto after = weights_of(model);
    CHECK(std::memcmp(before.data(), after.data(), before.size() * sizeof(float)) == 0);
}

TEST_CASE("trainer: a checkpoint that fails half-way leaves no folder and keeps the previous one") {
    const auto tok = bert_tokenizer();
    const auto data = stsb_test_rows(16);
    auto o = small_options();
    o.max_steps = 2;
    o.save_steps = 1;
    nn::bert_encoder<float> model(small_config(), 7);
    fresh_dir dir("failing");
    train::trainer<float, backend::reference> t(model, tok, data, o);
    int calls = 0;
    const auto extra = [&](const fs::path& d) {
        std::ofstream(d / "config.json") << "{}";
        if (++calls == 2) throw io_error((d / "vocab.txt").string(), "No space left on device");
    };
    CHECK_THROWS_WITH_AS(t.run({}, dir.path, extra), doctest::Contains("No space left"), io_error);
    const auto kept = train::list_checkpoints(dir.path);
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].filename() == "checkpoint-000001");
    CHECK(fs::exists(kept[0] / "config.json"));
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
    CHECK(entries == 1); // no partial folder left behind
}

} }  // namespace test_trainer
