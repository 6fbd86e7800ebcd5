// SPDX-License-Identifier: Apache-2.0
// nn::mlm_head and nn::bert_for_mlm: names, the tied decoder, the sub-width form (a zero-copy
// prefix of the dense weight), gradients, and parity with transformers' BertForMaskedLM
// (tests/fixtures/mlm/generate.py).
#include "nn_testing.hpp"

#include <set>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_mlm_head {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;
namespace st = starbucks::testing;

namespace {

/// A head whose parameters are the given vars (the gradcheck inputs).
template <class VW, class VB, class VG, class VV>
nn::mlm_head<double> head_of(const VW& w, const VB& b, const VG& gain, const VV& vocab_bias) {
    nn::mlm_head<double> h(st::tiny_config(), 1);
    h.dense.weight = w;
    h.dense.bias = b;
    h.LayerNorm.weight = gain;
    h.bias = vocab_bias;
    return h;
}

} // namespace

TEST_CASE("mlm_head: bert_for_mlm lists BertForMaskedLM names and no separate decoder matrix") {
    nn::bert_for_mlm<float> m(st::tiny_config(2), 1);
    const auto p = m.parameters();
    REQUIRE(p.size() == 5 + 2 * 16 + 5);
    CHECK(p[0].first == "bert.embeddings.word_embeddings.weight");
    CHECK(p[36].first == "bert.encoder.layer.1.output.LayerNorm.bias");
    CHECK(p[37].first == "cls.predictions.transform.dense.weight");
    CHECK(p[38].first == "cls.predictions.transform.dense.bias");
    CHECK(p[39].first == "cls.predictions.transform.LayerNorm.weight");
    CHECK(p[40].first == "cls.predictions.transform.LayerNorm.bias");
    CHECK(p[41].first == "cls.predictions.bias");
    std::set<std::string> unique;
    for (const auto& [n, v] : p) unique.insert(n);
    CHECK(unique.size() == p.size());
    // The decoder is the embedding parameter itself: same storage, and writes show through.
    CHECK(m.decoder_weight().value().data() == m.bert.embeddings.word_embeddings.weight.value().data());
    CHECK(m.cls.dense.weight.dims() == shape{4, 4});
    CHECK(m.cls.bias.dims() == shape{11});
    for (double v : st::flat(m.cls.bias.value())) CHECK(v == 0.0);
    for (double v : st::flat(m.cls.LayerNorm.weight.value())) CHECK(v == 1.0);
}

TEST_CASE("mlm_head: full width passes gradcheck for h, dense, LayerNorm, vocab bias and the decoder matrix") {
    auto h = random<double>(dextents<3>(2, 3, 4), 31);
    auto w = random<double>(dextents<2>(4, 4), 32);
    auto b = random<double>(dextents<1>(4), 33);
    auto g = random<double>(dextents<1>(4), 34, 0.8, 1.2);
    auto vb = random<double>(dextents<1>(11), 35);
    auto e = random<double>(dextents<2>(11, 4), 36);
    auto f = [](const auto& vh, const auto& vw, const auto& vbias, const auto& vg, const auto& vvb, const auto& ve) {
        return st::weighted_sum(head_of(vw, vbias, vg, vvb)(vh, ve), 37);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, h, w, b, g, vb, e), h.size() + w.size() + b.size() + g.size() + vb.size() + e.size());
}

TEST_CASE("mlm_head: sub-width h (d = 2 of 4) passes gradcheck and only W[:, :d] gets a gradient") {
    auto h = random<double>(dextents<3>(2, 3, 2), 41);
    auto w = random<double>(dextents<2>(4, 4), 42);
    auto b = random<double>(dextents<1>(4), 43);
    auto g = random<double>(dextents<1>(4), 44, 0.8, 1.2);
    auto vb = random<double>(dextents<1>(11), 45);
    auto e = random<double>(dextents<2>(11, 4), 46);
    auto f = [](const auto& vh, const auto& vw, const auto& vbias, const auto& vg, const auto& vvb, const auto& ve) {
        return st::weighted_sum(head_of(vw, vbias, vg, vvb)(vh, ve), 47);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, h, w, b, g, vb, e), h.size() + w.size() + b.size() + g.size() + vb.size() + e.size());

    // The gradient lands in the full W: columns 0..1 nonzero, 2..3 exactly zero.
    ag::tape t;
    auto vw = ag::parameter(tensor<double, dextents<2>>(w));
    {
        auto guard = t.activate();
        auto head = head_of(vw, ag::constant_input(b), ag::constant_input(g), ag::constant_input(vb));
        t.backward({st::weighted_sum(head(ag::constant_input(h), ag::constant_input(e)), 48)});
    }
    REQUIRE(vw.has_grad());
    const auto dw = vw.grad();
    REQUIRE(dw.dims() == shape{4, 4});
    double kept = 0;
    for (std::size_t o = 0; o < 4; ++o) {
        kept += std::abs(dw(o, 0)) + std::abs(dw(o, 1));
        CHECK(dw(o, 2) == 0.0);
        CHECK(dw(o, 3) == 0.0);
    }
    CHECK(kept > 0);
}

TEST_CASE("mlm_head: sub-width equals a head built from a copy of W[:, :d]") {
    auto h = random<double>(dextents<3>(2, 3, 3), 51);
    nn::mlm_head<double> full(st::tiny_config(), 2);
    st::randomize([&] {
        nn::parameter_list<double, backend::reference> p;
        full.append_parameters(p, "cls.predictions.");
        return p;
    }(), 52);
    auto e = ag::constant_input(random<double>(dextents<2>(11, 4), 53));
    const auto y = full(ag::constant_input(h), e);

    // The same computation with a separately stored [4, 3] weight.
    nn::linear<double> narrow(3, 4, rng_stream{0, 0});
    for (std::size_t o = 0; o < 4; ++o)
        for (std::size_t i = 0; i < 3; ++i) narrow.weight.mutable_value()(o, i) = full.dense.weight.value()(o, i);
    narrow.bias = full.dense.bias;
    auto t = full.LayerNorm(ag::gelu(narrow(ag::constant_input(h))));
    const auto expected = ag::add(ag::matmul_nt(t, e), full.bias);
    CHECK(st::max_abs_diff(y.value(), expected.value()) <= 1e-14);
    CHECK(y.dims() == shape{2, 3, 11});
}

TEST_CASE("mlm_head: a width of 0 or above the hidden size and a wrong decoder matrix are shape_errors") {
    nn::mlm_head<double> head(st::tiny_config(), 3);
    auto e = ag::constant_input(random<double>(dextents<2>(11, 4), 61));
    CHECK(st::error_message([&] { head(ag::constant_input(random<double>(dextents<3>(1, 2, 5), 62)), e); }) ==
          "starbucks::nn::mlm_head: input width 5 is outside 1..4 (the hidden size)");
    auto wrong = ag::constant_input(random<double>(dextents<2>(10, 4), 63));
    CHECK_THROWS_AS(head(ag::constant_input(random<double>(dextents<3>(1, 2, 4), 64)), wrong), shape_error);
}

TEST_CASE("mlm_head: bert_for_mlm passes gradcheck end to end, the tied matrix getting both gradients") {
    nn::bert_for_mlm<double> base(st::tiny_config(1), 9);
    st::randomize(base.parameters(), 900);
    const std::vector<std::size_t> lengths{3, 2};
    const auto ids = st::token_ids(lengths, 3, 11, 6);
    const auto mask = st::padding_mask(lengths, 3);
    auto word = contiguous(base.bert.embeddings.word_embeddings.weight.value());
    auto dense = contiguous(base.cls.dense.weight.value());
    auto f = [&](const auto& vword, const auto& vdense) {
        auto m = base;
        m.bert.embeddings.word_embeddings.weight = vword; // the decoder follows: it is read from the embeddings
        m.cls.dense.weight = vdense;
        const auto h = m.bert(ids, mask);
        // Full width after layer 1, and the sub-width form (d = 3) on the embedding output.
        return ag::add(st::weighted_sum(m.logits(h[1]), 91), st::weighted_sum(m.logits(ag::prefix(h[0], 3)), 92));
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, word, dense), word.size() + dense.size());
}

TEST_CASE("mlm_head: BertForMaskedLM logits match transformers at full and sub width") {
    const auto dir = st::tests_dir() / "fixtures" / "mlm";
    const auto config = io::read_bert_config(dir / "random-mlm" / "config.json");
    CHECK(config.layer_norm_eps == 1e-7);
    io::safetensors_file weights(dir / "random-mlm" / "model.safetensors");
    nn::bert_for_mlm<float> m(config);
    m.load(weights);
    CHECK(m.cls.LayerNorm.eps == 1e-7f);
    io::safetensors_file ref(dir / "random-mlm.safetensors");
    const auto ids = ref.read<std::int64_t, dextents<2>>("input_ids");
    const auto mask = ref.read<float, dextents<2>>("attention_mask");
    const auto types = ref.read<std::int64_t, dextents<2>>("token_type_ids");

    const auto logits = m(ids, mask, std::nullopt, types);
    const double full = st::max_abs_diff(logits.value(), ref.read<float, dextents<3>>("logits"));
    MESSAGE("BertForMaskedLM logits: max abs diff " << full);
    CHECK(full <= 1e-5);

    const auto hidden = m.bert(ids, mask, std::nullopt, types);
    const std::pair<std::size_t, std::size_t> pairs[] = {{2, 32}, {1, 16}, {2, 8}, {0, 5}};
    for (const auto& [n, d] : pairs) {
        const auto sub = m.logits(ag::prefix(hidden[n], d));
        const std::string name = "logits.n" + std::to_string(n) + ".d" + std::to_string(d);
        const double diff = st::max_abs_diff(sub.value(), ref.read<float, dextents<3>>(name));
        MESSAGE(name << ": max abs diff " << diff);
        CHECK(diff <= 1e-5);
    }
}

TEST_CASE("mlm_head: loading needs the head's tensors, which an encoder still ignores") {
    const auto root = st::tests_dir() / "fixtures";
    SUBCASE("a BertModel checkpoint has no cls.* and is refused, naming the tensor") {
        io::safetensors_file plain(root / "bert" / "random-small" / "model.safetensors");
        nn::bert_for_mlm<float> m(io::read_bert_config(root / "bert" / "random-small" / "config.json"));
        CHECK(st::error_message([&] { m.load(plain); }) ==
              "starbucks::model_error: " + plain.label() + ": tensor \"cls.predictions.transform.dense.weight\": missing");
    }
    SUBCASE("bert_encoder loads the MaskedLM checkpoint through the bert. prefix") {
        io::safetensors_file mlm(root / "mlm" / "random-mlm" / "model.safetensors");
        nn::bert_encoder<float> e(io::read_bert_config(root / "mlm" / "random-mlm" / "config.json"));
        e.load(mlm);
        nn::bert_for_mlm<float> m(io::read_bert_config(root / "mlm" / "random-mlm" / "config.json"));
        m.load(mlm);
        CHECK(st::max_abs_diff(e.layers[1].ffn.output.weight.value(), m.bert.layers[1].ffn.output.weight.value()) == 0.0);
        CHECK(st::max_abs_diff(m.cls.bias.value(), mlm.read<float, dextents<1>>("cls.predictions.bias")) == 0.0);
    }
}

} }  // namespace test_mlm_head
