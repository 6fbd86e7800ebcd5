// SPDX-License-Identifier: Apache-2.0
// nn::bert_encoder against Hugging Face transformers: every hidden state of BertModel in eval
// mode (tests/fixtures/bert/generate.py) within 1e-5 in float32.
#include "nn_testing.hpp"

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_bert_parity {

using namespace starbucks;
namespace st = starbucks::testing;

namespace {

/// Runs the model in `model_dir` on the inputs stored in `reference` and compares every hidden state.
void check_parity(const std::filesystem::path& model_dir, const std::filesystem::path& reference) {
    const auto config = io::read_bert_config(model_dir / "config.json");
    io::safetensors_file weights(model_dir / "model.safetensors");
    nn::bert_encoder<float> m(config);
    m.load(weights);
    io::safetensors_file ref(reference);
    const auto ids = ref.read<std::int64_t, dextents<2>>("input_ids");
    const auto mask = ref.read<float, dextents<2>>("attention_mask");
    const auto types = ref.read<std::int64_t, dextents<2>>("token_type_ids");
    const auto hidden = m(ids, mask, std::nullopt, types);
    REQUIRE(hidden.size() == config.num_hidden_layers + 1);
    for (std::size_t i = 0; i < hidden.size(); ++i) {
        const auto expected = ref.read<float, dextents<3>>("hidden_states." + std::to_string(i));
        const double diff = st::max_abs_diff(hidden[i].value(), expected);
        MESSAGE(reference.filename().string() << " hidden_states." << i << ": max abs diff " << diff);
        CHECK(diff <= 1e-5);
    }
}

} // namespace

TEST_CASE("bert parity: the tiny BERT NER checkpoint matches transformers' hidden states") {
    const auto root = st::tests_dir();
    check_parity(root / "data" / "tiny-bert-ner", root / "fixtures" / "bert" / "tiny-bert-ner.safetensors");
}

TEST_CASE("bert parity: a random 2-layer, 4-head BertModel matches transformers' hidden states") {
    const auto dir = st::tests_dir() / "fixtures" / "bert";
    check_parity(dir / "random-small", dir / "random-small.safetensors");
}

} }  // namespace test_bert_parity
