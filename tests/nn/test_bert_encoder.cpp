// SPDX-License-Identifier: Apache-2.0
// nn::bert_encoder and pooling: all hidden states, early exit, padding invariance, names,
// initialisation, gradients end to end, and loading a real checkpoint.
#include "nn_testing.hpp"

#include <cmath>
#include <set>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_bert_encoder {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;
namespace st = starbucks::testing;

TEST_CASE("bert_encoder: parameters carry Hugging Face BertModel names, in order") {
    nn::bert_encoder<float> m(st::tiny_config(2), 1);
    const auto p = m.parameters();
    REQUIRE(p.size() == 5 + 2 * 16);
    CHECK(p[0].first == "embeddings.word_embeddings.weight");
    CHECK(p[1].first == "embeddings.position_embeddings.weight");
    CHECK(p[2].first == "embeddings.token_type_embeddings.weight");
    CHECK(p[3].first == "embeddings.LayerNorm.weight");
    CHECK(p[4].first == "embeddings.LayerNorm.bias");
    CHECK(p[5].first == "encoder.layer.0.attention.self.query.weight");
    CHECK(p[15].first == "encoder.layer.0.intermediate.dense.weight");
    CHECK(p[16].first == "encoder.layer.0.intermediate.dense.bias");
    CHECK(p[17].first == "encoder.layer.0.output.dense.weight");
    CHECK(p[19].first == "encoder.layer.0.output.LayerNorm.weight");
    CHECK(p[20].first == "encoder.layer.0.output.LayerNorm.bias");
    CHECK(p[36].first == "encoder.layer.1.output.LayerNorm.bias");
    std::set<std::string> unique;
    for (const auto& [n, v] : p) unique.insert(n);
    CHECK(unique.size() == p.size());
}

TEST_CASE("bert_encoder: initialised like HF, and the same seed gives the same weights") {
    nn::bert_encoder<float> a(st::tiny_config(2), 3), b(st::tiny_config(2), 3), c(st::tiny_config(2), 4);
    const auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) {
        std::visit([&](const auto& va) {
            using V = std::remove_cvref_t<decltype(va)>;
            const auto vb = std::get<V>(pb[i].second), vc = std::get<V>(pc[i].second);
            const auto fa = st::flat(contiguous(va.value())), fb = st::flat(contiguous(vb.value()));
            CHECK(fa == fb);
            const std::string& n = pa[i].first;
            if (n.ends_with("LayerNorm.weight")) for (double v : fa) CHECK(v == 1.0);
            else if (n.ends_with("bias")) for (double v : fa) CHECK(v == 0.0);
            else {
                CHECK(fa != st::flat(contiguous(vc.value()))); // another seed, other weights
                for (double v : fa) CHECK(std::abs(v) < 0.02 * 6);
            }
        }, pa[i].second);
    }
}

TEST_CASE("bert_encoder: returns n + 1 hidden states and stopping after layer n reproduces them bitwise") {
    nn::bert_encoder<double> m(st::tiny_config(2), 5);
    st::randomize(m.parameters(), 500);
    const std::vector<std::size_t> lengths{5, 3};
    const auto ids = st::token_ids(lengths, 5, 11, 1);
    const auto mask = st::padding_mask(lengths, 5);
    const auto full = m(ids, mask);
    REQUIRE(full.size() == 3);
    for (const auto& h : full) CHECK(h.dims() == shape{2, 5, 4});
    for (std::size_t n = 0; n <= 2; ++n) {
        const auto part = m(ids, mask, n);
        REQUIRE(part.size() == n + 1);
        for (std::size_t i = 0; i <= n; ++i) CHECK(st::bitwise_same(part[i].value(), full[i].value()));
    }
    CHECK(st::error_message([&] { (void)m(ids, mask, 3); }) == "starbucks::nn::bert_encoder: asked for 3 layers; the model has 2");
}

TEST_CASE("bert_encoder: extra padding does not change the real tokens' hidden states") {
    nn::bert_encoder<double> m(st::tiny_config(2), 6);
    st::randomize(m.parameters(), 600);
    const std::vector<std::size_t> lengths{4, 2};
    const auto ids = st::token_ids(lengths, 4, 11, 2);
    auto padded_ids = zeros<std::int64_t>(dextents<2>(2, 7));
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t t = 0; t < 4; ++t) padded_ids(b, t) = ids(b, t);
    const auto short_run = m(ids, st::padding_mask(lengths, 4));
    const auto long_run = m(padded_ids, st::padding_mask(lengths, 7));
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t t = 0; t < lengths[b]; ++t)
                for (std::size_t c = 0; c < 4; ++c) {
                    // Masked keys add exact zeros, but sums over 7 instead of 4 columns may round differently.
                    CHECK(std::abs(long_run[i].value()(b, t, c) - short_run[i].value()(b, t, c)) <= 1e-12);
                }
}

TEST_CASE("bert_encoder: token types change the embedding output; bad inputs are shape_errors") {
    nn::bert_encoder<double> m(st::tiny_config(1), 7);
    const std::vector<std::size_t> lengths{3};
    const auto ids = st::token_ids(lengths, 3, 11, 3);
    const auto mask = st::padding_mask(lengths, 3);
    auto types = zeros<std::int64_t>(dextents<2>(1, 3));
    types(0, 2) = 1;
    const auto a = m(ids, mask, 0), b = m(ids, mask, 0, types);
    CHECK(a[0].value()(0, 0, 0) == b[0].value()(0, 0, 0));
    CHECK(a[0].value()(0, 2, 0) != b[0].value()(0, 2, 0));
    const auto long_ids = st::token_ids({9}, 9, 11, 4);
    CHECK(st::error_message([&] { (void)m(long_ids, st::padding_mask({9}, 9)); }) ==
          "starbucks::nn::bert_embeddings: sequence of 9 tokens exceeds max_position_embeddings 8");
    CHECK(st::error_message([&] { (void)m(ids, st::padding_mask({3}, 4)); }) ==
          "starbucks::nn::bert_encoder: mask (1, 4) vs ids (1, 3)");
    auto bad = ids;
    bad(0, 1) = 11;
    CHECK_THROWS_AS((void)m(bad, mask), shape_error);
}

TEST_CASE("bert_encoder: an inconsistent config is a usage_error") {
    auto c = st::tiny_config();
    c.num_attention_heads = 3;
    CHECK(st::error_message([&] { nn::bert_encoder<float> m(c); }) ==
          "starbucks::nn::bert_config: hidden_size 4 is not a multiple of num_attention_heads 3");
}

TEST_CASE("bert_encoder: two layers plus masked-mean pooling pass gradcheck end to end") {
    nn::bert_encoder<double> base(st::tiny_config(2), 8);
    st::randomize(base.parameters(), 800);
    const std::vector<std::size_t> lengths{3, 2};
    const auto ids = st::token_ids(lengths, 3, 11, 5);
    const auto mask = st::padding_mask(lengths, 3);
    auto word = contiguous(base.embeddings.word_embeddings.weight.value());
    auto q0 = contiguous(base.layers[0].attention.query.weight.value());
    auto v1 = contiguous(base.layers[1].attention.value.weight.value());
    auto g1 = contiguous(base.layers[1].ffn.LayerNorm.weight.value());
    auto f = [&](const auto& vw, const auto& vq, const auto& vv, const auto& vg) {
        auto m = base;
        m.embeddings.word_embeddings.weight = vw;
        m.layers[0].attention.query.weight = vq;
        m.layers[1].attention.value.weight = vv;
        m.layers[1].ffn.LayerNorm.weight = vg;
        const auto h = m(ids, mask);
        // Both pooled layers, so the gradient reaches layer 0 by two paths.
        return ag::add(st::weighted_sum(nn::mean_pooling(h[2], mask), 81), st::weighted_sum(nn::mean_pooling(h[1], mask), 82));
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, word, q0, v1, g1), word.size() + q0.size() + v1.size() + g1.size());
}

TEST_CASE("pooling: masked mean skips padding, CLS is token 0") {
    tensor<double, dextents<3>> h(dextents<3>(1, 3, 2));
    for (std::size_t t = 0; t < 3; ++t) h(0, t, 0) = double(t + 1), h(0, t, 1) = -double(t + 1);
    const auto vh = ag::constant_input(h);
    const auto mean = nn::mean_pooling(vh, st::padding_mask({2}, 3));
    CHECK(mean.value()(0, 0) == 1.5);
    CHECK(mean.value()(0, 1) == -1.5);
    const auto cls = nn::cls_pooling(vh);
    REQUIRE(cls.dims() == shape{1, 2});
    CHECK(cls.value()(0, 0) == 1.0);
}

TEST_CASE("bert_encoder: training draws fresh dropout masks per forward; eval is deterministic") {
    auto c = st::tiny_config(1);
    nn::bert_encoder<double> m(c, 9);
    const auto ids = st::token_ids({4}, 4, 11, 6);
    const auto mask = st::padding_mask({4}, 4);
    const auto e1 = m(ids, mask), e2 = m(ids, mask);
    CHECK(st::bitwise_same(e1[1].value(), e2[1].value()));
    m.training = true;
    const auto t1 = m(ids, mask), t2 = m(ids, mask);
    CHECK_FALSE(st::bitwise_same(t1[1].value(), t2[1].value()));
    CHECK_FALSE(st::bitwise_same(t1[1].value(), e1[1].value()));
}

// ---- loading real checkpoints ----

TEST_CASE("bert_encoder: loads the tiny BERT NER checkpoint (bert. prefix, classifier and position_ids ignored) and runs") {
    const auto dir = st::tests_dir() / "data" / "tiny-bert-ner";
    const auto config = io::read_bert_config(dir / "config.json");
    CHECK(config.hidden_size == 16);
    CHECK(config.num_attention_heads == 1);
    io::safetensors_file file(dir / "model.safetensors");
    nn::bert_encoder<float> m(config);
    m.load(file);
    const auto stored = file.read<float, dextents<2>>("bert.encoder.layer.0.attention.self.key.weight");
    CHECK(st::bitwise_same(m.layers[0].attention.key.weight.value(), stored.view()));
    const std::vector<std::size_t> lengths{6, 3};
    const auto ids = st::token_ids(lengths, 6, 402, 7);
    const auto h = m(ids, st::padding_mask<float>(lengths, 6));
    REQUIRE(h.size() == 2);
    CHECK(h[1].dims() == shape{2, 6, 16});
    for (double v : st::flat(contiguous(h[1].value()))) CHECK(std::isfinite(v));
}

TEST_CASE("bert_encoder: load names the tensor and both shapes, missing tensors and unknown ones") {
    const auto dir = st::tests_dir() / "data" / "tiny-bert-ner";
    io::safetensors_file file(dir / "model.safetensors");
    const std::string label = file.label();
    auto config = io::read_bert_config(dir / "config.json");
    SUBCASE("a shape that differs from the config") {
        auto c = config;
        c.intermediate_size = 32;
        nn::bert_encoder<float> m(c);
        CHECK(st::error_message([&] { m.load(file); }) ==
              "starbucks::model_error: " + label +
                  ": tensor \"bert.encoder.layer.0.intermediate.dense.weight\": has (64, 16), expected (32, 16)");
    }
    SUBCASE("a layer the file does not have") {
        auto c = config;
        c.num_hidden_layers = 2;
        nn::bert_encoder<float> m(c);
        CHECK(st::error_message([&] { m.load(file); }) ==
              "starbucks::model_error: " + label +
                  ": tensor \"encoder.layer.1.attention.self.query.weight\": missing (also looked for "
                  "\"bert.encoder.layer.1.attention.self.query.weight\")");
    }
    SUBCASE("a tensor the model does not use") {
        io::safetensors_file two(st::tests_dir() / "fixtures" / "bert" / "random-small" / "model.safetensors");
        auto c = io::read_bert_config(st::tests_dir() / "fixtures" / "bert" / "random-small" / "config.json");
        c.num_hidden_layers = 1;
        nn::bert_encoder<float> m(c);
        const std::string msg = st::error_message([&] { m.load(two); });
        CHECK(msg.find(": tensor \"encoder.layer.1.") != std::string::npos);
        CHECK(msg.ends_with("\": not a weight of this model"));
    }
}

} }  // namespace test_bert_encoder
