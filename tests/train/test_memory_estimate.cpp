// SPDX-License-Identifier: Apache-2.0
// train/memory_estimate.hpp: the parameter count equals the real encoder's, the estimate adds
// up and grows with the batch, and the budget read from the system is plausible.
#include "testing.hpp"
#include "train_testing.hpp"

#include <starbucks/nn/bert_encoder.hpp>
#include <starbucks/train/memory_estimate.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_memory_estimate {

using namespace starbucks;

std::uint64_t counted(const nn::bert_encoder<float>& m) {
    std::uint64_t n = 0;
    for (const auto& [name, value] : m.parameters()) std::visit([&](const auto& v) { n += v.size(); }, value);
    return n;
}

TEST_CASE("memory estimate: encoder_parameters counts exactly what nn::bert_encoder holds") {
    auto c = train_testing::small_config();
    CHECK(train::encoder_parameters(c, c.num_hidden_layers) == counted(nn::bert_encoder<float>(c, 1)));
    c.hidden_size = 24;
    c.num_attention_heads = 3;
    c.intermediate_size = 40;
    c.max_position_embeddings = 20;
    c.vocab_size = 97;
    c.num_hidden_layers = 2;
    CHECK(train::encoder_parameters(c, 2) == counted(nn::bert_encoder<float>(c, 2)));
    // Hugging Face's count for bert-base-uncased without the pooler: 109,482,240 - 590,592.
    CHECK(train::encoder_parameters(nn::bert_config{}, 12) == 108891648u);
}

TEST_CASE("memory estimate: the parts add up, weights-sized parts are exact, activations grow with batch and length") {
    const nn::bert_config c; // bert-base
    const std::uint64_t params = train::encoder_parameters(c, 12);
    train::batch_geometry g{64, 128, 12, 0, 0};
    const auto e = train::estimate_training_memory(c, params, g);
    CHECK(e.weights == params * 4);
    CHECK(e.gradients == params * 4);
    CHECK(e.optimizer == params * 8);
    CHECK(e.total() == e.weights + e.gradients + e.optimizer + e.activations);
    auto bigger = g;
    bigger.texts = 128;
    CHECK(train::estimate_training_memory(c, params, bigger).activations > e.activations);
    auto longer = g;
    longer.max_length = 256;
    CHECK(train::estimate_training_memory(c, params, longer).activations > 2 * e.activations); // attention is quadratic in length
    auto shallower = g;
    shallower.layers = 2;
    CHECK(train::estimate_training_memory(c, params, shallower).activations < e.activations / 3);
    CHECK(e.breakdown().find("weights 436 MB + gradients 436 MB + AdamW moments 871 MB + activations ") == 0);
}

TEST_CASE("memory estimate: format_bytes and the system budget") {
    CHECK(train::format_bytes(0) == "0 B");
    CHECK(train::format_bytes(999) == "999 B");
    CHECK(train::format_bytes(1500) == "1.50 kB");
    CHECK(train::format_bytes(435566592) == "436 MB");
    CHECK(train::format_bytes(43556659) == "43.6 MB");
    CHECK(train::format_bytes(25000000000ull) == "25.0 GB");
#if defined(__linux__)
    const auto budget = train::available_memory();
    REQUIRE(budget.has_value());
    CHECK(budget->bytes > 0);
    CHECK(!budget->source.empty());
#endif
}

} }  // namespace test_memory_estimate
