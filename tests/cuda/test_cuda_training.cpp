// SPDX-License-Identifier: Apache-2.0
// Training on backend::cuda, unchanged above ops/: STS fine-tuning with dropout, checkpoints
// and a resume, retrieval fine-tuning with GradCache chunks, and SMAE pre-training, each against
// the same run on backend::reference. Dropout masks and initial weights are drawn from the same
// Philox words on both, so the runs differ only by the order of f32 sums (block reductions,
// GEMM blocking, atomics): losses and weights agree to 1e-4, where a wrong kernel is off by
// orders of magnitude more. Without a GPU these cases print "no CUDA device: skipped".
#include "testing.hpp"

#include <starbucks/backend/cuda/cuda.hpp>

#include <cmath>
#include <cstdio>

#include "../train/train_testing.hpp"

namespace { namespace test_cuda_training {

using namespace starbucks;
namespace mt = starbucks::matryoshka;
using backend::cuda;
using train_testing::weights_of, train_testing::bert_tokenizer, train_testing::stsb_test_rows, train_testing::fresh_dir,
    train_testing::small_config, train_testing::run_result, train_testing::run_to_end;

bool no_gpu() {
    if (backend::cuda_detail::device_count() > 0) return false;
    std::printf("no CUDA device: skipped\n");
    return true;
}

/// Every step's loss within 1e-4 of the reference's (relative), the weights within
/// `weight_tolerance` normwise.
void check_close_run(const run_result& ref, const run_result& dev, std::size_t steps, double weight_tolerance = 1e-4) {
    REQUIRE(ref.first.size() == steps);
    REQUIRE(dev.first.size() == steps);
    for (std::size_t i = 0; i < steps; ++i) {
        CAPTURE(i);
        CHECK(std::abs(dev.first[i] - ref.first[i]) <= 1e-4 * std::abs(ref.first[i]));
    }
    REQUIRE(dev.second.size() == ref.second.size());
    double num = 0, den = 0;
    for (std::size_t i = 0; i < ref.second.size(); ++i) {
        const double d = double(dev.second[i]) - double(ref.second[i]);
        num += d * d;
        den += double(ref.second[i]) * double(ref.second[i]);
    }
    CHECK(std::sqrt(num / den) <= weight_tolerance);
}

train::trainer_options sts_options() {
    train::trainer_options o;
    o.objective.pairs = mt::pair_list::parse("1:4,2:8,3:16");
    o.batch_size = 8;
    o.max_length = 24;
    o.lr = 2e-3;
    o.seed = 5;
    o.max_steps = 4;
    o.save_steps = 2;
    o.dropout = true;
    return o;
}

template <class B>
run_result sts_run(const train::trainer_options& o, const std::filesystem::path& dir) {
    const auto tok = bert_tokenizer(); // the trainer keeps references to its tokenizer and data
    const auto data = stsb_test_rows(32);
    nn::bert_encoder<float, B> model(small_config(), 5);
    return run_to_end(model, train::trainer<float, B>(model, tok, data, o), dir);
}

TEST_CASE("cuda: STS fine-tuning with dropout, checkpoints and a resume matches the reference backend's run") {
    if (no_gpu()) return;
    const auto o = sts_options();
    fresh_dir ref_dir("cuda-ref"), dev_dir("cuda-dev");
    const auto straight = sts_run<cuda>(o, dev_dir.path);
    check_close_run(sts_run<backend::reference>(o, ref_dir.path), straight, 4);

    // Resumed from step 2's checkpoint (weights and moments uploaded), the run ends where the
    // straight one did: the same kernels on the same inputs, so bit for bit.
    const auto at_2 = dev_dir.path / "checkpoint-000002";
    REQUIRE(std::filesystem::exists(at_2 / "model.safetensors"));
    const auto tok = bert_tokenizer();
    const auto data = stsb_test_rows(32);
    nn::bert_encoder<float, cuda> resumed(small_config(), 99); // every value comes from the checkpoint
    train::trainer<float, cuda> t(resumed, tok, data, o);
    t.resume(at_2);
    CHECK(t.state().step == 2);
    fresh_dir again("cuda-resumed");
    t.run({}, again.path);
    const auto w = weights_of(resumed);
    REQUIRE(w.size() == straight.second.size());
    CHECK(std::memcmp(w.data(), straight.second.data(), w.size() * sizeof(float)) == 0);
}

TEST_CASE("cuda: retrieval fine-tuning with GradCache chunks matches the reference backend's run") {
    if (no_gpu()) return;
    const auto tok = bert_tokenizer();
    const auto data = train_testing::sts_retrieval_groups(24);
    auto o = train_testing::small_retrieval_options(3);
    o.dropout = false;
    const auto run = [&]<class B>(std::type_identity<B>) {
        nn::bert_encoder<float, B> model(small_config(), 7);
        return run_to_end(model, train::trainer<float, B>(model, tok, data, o));
    };
    // Adam's second step divides by the root of squared gradients, so parameters whose gradient
    // is nearly zero (the last layer norm's, mostly) move by amounts that follow rounding: on
    // this run cpu_onednn's weights differ from the reference's by 2.2e-4 normwise (262 of
    // 496,112 by more than 1e-4), the emulated device's by 2.3e-4. A wrong kernel is off by
    // far more; the losses still agree to 1e-4.
    check_close_run(run(std::type_identity<backend::reference>{}), run(std::type_identity<cuda>{}), 2, 1e-3);
}

TEST_CASE("cuda: SMAE pre-training matches the reference backend's run") {
    if (no_gpu()) return;
    const auto tok = train_testing::small_bert_tokenizer();
    const auto docs = train_testing::sts_documents(tok, 16);
    auto config = small_config();
    config.vocab_size = 8192;
    const auto o = train_testing::small_smae_options();
    const auto run = [&]<class B>(std::type_identity<B>) {
        nn::bert_for_smae<float, B> model(config, 3);
        return run_to_end(model, train::pretrainer<float, B>(model, tok, docs, o));
    };
    check_close_run(run(std::type_identity<backend::reference>{}), run(std::type_identity<cuda>{}), 2);
}

}} // namespace ::test_cuda_training
