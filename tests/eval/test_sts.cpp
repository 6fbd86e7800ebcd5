// SPDX-License-Identifier: Apache-2.0
// eval/sts.hpp: the one-pass grid equals evaluating each size on its own (encoder stopped after
// n layers, pooled, cut to d, cosine, scipy-style Spearman), and bad sizes are refused.
#include "testing.hpp"

#include <array>
#include <filesystem>
#include <set>

#include <starbucks/eval/sts.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_sts {

using namespace starbucks;
namespace fs = std::filesystem;
namespace mt = starbucks::matryoshka;

namespace {

fs::path tests_dir() { return fs::path(__FILE__).parent_path().parent_path(); }

/// Sentence pairs with made-up but varied gold scores (not a quality measurement).
const std::vector<std::array<std::string, 2>> sentences{
    {"A man is playing a guitar.", "A man plays the guitar."},
    {"A woman is slicing an onion.", "A cat is sleeping on the sofa."},
    {"Two dogs run through a field.", "Dogs are running in the grass."},
    {"The stock market fell sharply today.", "A child is riding a bicycle."},
    {"A plane is taking off.", "An airplane departs from the runway."},
    {"Someone is cooking pasta in a kitchen.", "A person prepares noodles."},
    {"The sky is blue and clear.", "It is raining heavily outside."},
    {"He is reading a newspaper.", "A man reads the paper."},
};
const std::vector<double> gold{4.8, 0.2, 3.9, 0.0, 4.5, 3.1, 0.9, 4.4};

std::vector<eval::scored_pair> scored_pairs() {
    std::vector<eval::scored_pair> out;
    for (std::size_t i = 0; i < sentences.size(); ++i) out.push_back({sentences[i][0], sentences[i][1], gold[i]});
    return out;
}

nn::bert_encoder<float> small_model() {
    nn::bert_config c;
    c.vocab_size = 30522;
    c.hidden_size = 16;
    c.num_hidden_layers = 3;
    c.num_attention_heads = 2;
    c.intermediate_size = 32;
    c.max_position_embeddings = 64;
    return nn::bert_encoder<float>(c, 17);
}

/// Spearman × 100 of one size computed the long way: its own forward, stopped after n layers.
double one_size(nn::bert_encoder<float>& m, const text::wordpiece& tok, mt::size_pair size, eval::pooling pool) {
    autograd::no_grad off;
    std::vector<double> cos;
    for (const auto& s : sentences) {
        std::vector<std::vector<float>> v;
        for (const auto& text : s) {
            const auto enc = tok.encode_batch({std::string_view(text)}, text::encode_options{128, true, text::padding::longest});
            nn::id_tensor<backend::reference> ids(1, enc[0].ids.size());
            nn::mask_tensor<float, backend::reference> mask(1, enc[0].ids.size());
            for (std::size_t t = 0; t < enc[0].ids.size(); ++t) ids(0, t) = enc[0].ids[t], mask(0, t) = 1;
            const auto h = m(ids, mask, size.layers);
            REQUIRE(h.size() == size.layers + 1);
            const auto p = pool == eval::pooling::mean ? contiguous(nn::mean_pooling(h.back(), mask).value())
                                                       : contiguous(nn::cls_pooling(h.back()).value());
            v.emplace_back(p.data(), p.data() + size.dim);
        }
        double dot = 0, na = 0, nb = 0;
        for (std::size_t c = 0; c < size.dim; ++c) dot += double(v[0][c]) * v[1][c], na += double(v[0][c]) * v[0][c], nb += double(v[1][c]) * v[1][c];
        cos.push_back(dot / std::sqrt(na * nb));
    }
    return 100 * eval::spearman(cos, gold);
}

} // namespace

TEST_CASE("evaluate_sts: the one-pass grid equals each size evaluated on its own, for mean and CLS pooling") {
    const auto tok = text::wordpiece::load(tests_dir() / "fixtures" / "tokenizer");
    auto model = small_model();
    const auto sizes = eval::grid(3, {4, 9, 16});
    REQUIRE(sizes.size() == 9);
    for (const auto pool : {eval::pooling::mean, eval::pooling::cls}) {
        eval::sts_options o;
        o.batch_size = 3; // batches with padding across pairs
        o.pool = pool;
        const auto results = eval::evaluate_sts(model, tok, scored_pairs(), sizes, o);
        REQUIRE(results.size() == sizes.size());
        std::set<double> distinct;
        for (std::size_t k = 0; k < sizes.size(); ++k) {
            CAPTURE(mt::to_string(sizes[k]));
            CHECK(results[k].size == sizes[k]);
            CHECK(results[k].spearman == doctest::Approx(one_size(model, tok, sizes[k], pool)).epsilon(1e-6));
            CHECK(std::abs(results[k].spearman) <= 100.0);
            distinct.insert(results[k].spearman);
        }
        CHECK(distinct.size() > 1); // the sizes really differ (8 ranks allow few distinct values)
    }
}

TEST_CASE("evaluate_sts: sizes beyond the model and too little data are usage errors") {
    const auto tok = text::wordpiece::load(tests_dir() / "fixtures" / "tokenizer");
    auto model = small_model();
    CHECK_THROWS_WITH_AS(eval::evaluate_sts(model, tok, scored_pairs(), {{4, 8}}), doctest::Contains("(4,8) is outside the model"), usage_error);
    CHECK_THROWS_AS(eval::evaluate_sts(model, tok, scored_pairs(), {{1, 17}}), usage_error);
    CHECK_THROWS_AS(eval::evaluate_sts(model, tok, std::vector<eval::scored_pair>{scored_pairs()[0]}, {{1, 8}}), usage_error);
}

} }  // namespace test_sts
