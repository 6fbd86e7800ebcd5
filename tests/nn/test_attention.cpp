// SPDX-License-Identifier: Apache-2.0
// nn::bert_attention, nn::bert_ffn, nn::bert_layer: gradients with a padding mask, mask values,
// parameter names.
#include "nn_testing.hpp"

#include <limits>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_attention {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;
namespace st = starbucks::testing;

namespace {

// B = 2 sequences of T = 3 tokens, the second with one padded position; C = 4, H = 2 heads.
const std::vector<std::size_t> lengths{3, 2};

} // namespace

TEST_CASE("additive_mask: 0 on tokens, the lowest finite value on padding, shaped (B, 1, 1, T)") {
    const auto m = nn::additive_mask(st::padding_mask<float>(lengths, 3));
    REQUIRE(m.dims() == shape{2, 1, 1, 3});
    CHECK(m.value()(0, 0, 0, 2) == 0.0f);
    CHECK(m.value()(1, 0, 0, 1) == 0.0f);
    CHECK(m.value()(1, 0, 0, 2) == std::numeric_limits<float>::lowest());
    CHECK_FALSE(m.requires_grad());
}

TEST_CASE("bert_attention: parameters carry the Hugging Face names") {
    nn::bert_attention<double> a(st::tiny_config(), 3);
    nn::parameter_list<double, backend::reference> p;
    a.append_parameters(p, "encoder.layer.0.attention.");
    std::vector<std::string> names;
    for (const auto& [n, v] : p) names.push_back(n);
    const std::vector<std::string> expected{
        "encoder.layer.0.attention.self.query.weight",        "encoder.layer.0.attention.self.query.bias",
        "encoder.layer.0.attention.self.key.weight",          "encoder.layer.0.attention.self.key.bias",
        "encoder.layer.0.attention.self.value.weight",        "encoder.layer.0.attention.self.value.bias",
        "encoder.layer.0.attention.output.dense.weight",      "encoder.layer.0.attention.output.dense.bias",
        "encoder.layer.0.attention.output.LayerNorm.weight", "encoder.layer.0.attention.output.LayerNorm.bias"};
    CHECK(names == expected);
}

TEST_CASE("bert_attention: passes gradcheck for x and the query, key, value and output weights with a padding mask") {
    nn::bert_attention<double> base(st::tiny_config(), 5);
    nn::parameter_list<double, backend::reference> p;
    base.append_parameters(p, "");
    st::randomize(p, 100);
    const auto mask = nn::additive_mask(st::padding_mask(lengths, 3));
    auto x = random<double>(dextents<3>(2, 3, 4), 30);
    auto wq = contiguous(base.query.weight.value());
    auto wk = contiguous(base.key.weight.value());
    auto wv = contiguous(base.value.weight.value());
    auto wo = contiguous(base.dense.weight.value());
    auto bq = contiguous(base.query.bias.value());
    auto f = [&](const auto& vx, const auto& vq, const auto& vk, const auto& vv, const auto& vo, const auto& vbq) {
        auto a = base;
        a.query.weight = vq;
        a.key.weight = vk;
        a.value.weight = vv;
        a.dense.weight = vo;
        a.query.bias = vbq;
        return st::weighted_sum(a(vx, mask), 31);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, wq, wk, wv, wo, bq),
                              x.size() + wq.size() + wk.size() + wv.size() + wo.size() + bq.size());
}

TEST_CASE("bert_attention: a padded key gets no weight: changing its input leaves real tokens unchanged") {
    nn::bert_attention<double> a(st::tiny_config(), 5);
    nn::parameter_list<double, backend::reference> p;
    a.append_parameters(p, "");
    st::randomize(p, 200);
    const auto mask = nn::additive_mask(st::padding_mask(lengths, 3));
    auto x = random<double>(dextents<3>(2, 3, 4), 40);
    const auto y1 = contiguous(a(ag::constant_input(x), mask).value());
    for (std::size_t c = 0; c < 4; ++c) x(1, 2, c) += 3.0; // the padded token of sequence 1
    const auto y2 = contiguous(a(ag::constant_input(x), mask).value());
    for (std::size_t t = 0; t < 2; ++t)
        for (std::size_t c = 0; c < 4; ++c) CHECK(y1(1, t, c) == y2(1, t, c));
    CHECK(y1(1, 2, 0) != y2(1, 2, 0));
}

TEST_CASE("bert_ffn: passes gradcheck for x and both dense weights") {
    nn::bert_ffn<double> base(st::tiny_config(), 6);
    nn::parameter_list<double, backend::reference> p;
    base.append_parameters(p, "");
    st::randomize(p, 300);
    auto x = random<double>(dextents<3>(2, 3, 4), 50);
    auto w1 = contiguous(base.intermediate.weight.value());
    auto w2 = contiguous(base.output.weight.value());
    auto f = [&](const auto& vx, const auto& v1, const auto& v2) {
        auto m = base;
        m.intermediate.weight = v1;
        m.output.weight = v2;
        return st::weighted_sum(m(vx), 51);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, w1, w2), x.size() + w1.size() + w2.size());
}

TEST_CASE("bert_layer: passes gradcheck for x and weights of both blocks with a padding mask") {
    nn::bert_layer<double> base(st::tiny_config(), 7);
    nn::parameter_list<double, backend::reference> p;
    base.append_parameters(p, "");
    st::randomize(p, 400);
    const auto mask = nn::additive_mask(st::padding_mask(lengths, 3));
    auto x = random<double>(dextents<3>(2, 3, 4), 60);
    auto wk = contiguous(base.attention.key.weight.value());
    auto g1 = contiguous(base.attention.LayerNorm.weight.value());
    auto w1 = contiguous(base.ffn.intermediate.weight.value());
    auto b2 = contiguous(base.ffn.output.bias.value());
    auto f = [&](const auto& vx, const auto& vk, const auto& vg, const auto& v1, const auto& vb) {
        auto l = base;
        l.attention.key.weight = vk;
        l.attention.LayerNorm.weight = vg;
        l.ffn.intermediate.weight = v1;
        l.ffn.output.bias = vb;
        return st::weighted_sum(l(vx, mask), 61);
    };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, x, wk, g1, w1, b2), x.size() + wk.size() + g1.size() + w1.size() + b2.size());
}

TEST_CASE("bert_layer: dropout is off in eval, on in training, and reproducible from (seed, step)") {
    auto c = st::tiny_config();
    c.hidden_dropout_prob = 0.5;
    c.attention_probs_dropout_prob = 0.5;
    nn::bert_layer<double> l(c, 8);
    const auto mask = nn::additive_mask(st::padding_mask(lengths, 3));
    const auto x = ag::constant_input(random<double>(dextents<3>(2, 3, 4), 70));
    const auto eval1 = l(x, mask);
    const auto eval2 = l(x, mask, nn::dropout_source{false, 9, 4});
    CHECK(st::bitwise_same(eval1.value(), eval2.value()));
    const auto train1 = l(x, mask, nn::dropout_source{true, 9, 0});
    const auto train2 = l(x, mask, nn::dropout_source{true, 9, 0});
    const auto train3 = l(x, mask, nn::dropout_source{true, 9, 1});
    CHECK(st::bitwise_same(train1.value(), train2.value()));
    CHECK_FALSE(st::bitwise_same(train1.value(), eval1.value()));
    CHECK_FALSE(st::bitwise_same(train1.value(), train3.value()));
}

TEST_CASE("bert_layer: a training step with dropout takes no new memory from the OS after warm-up, attention scratch included") {
    auto& pool = backend::host_pool::instance();
    if (!pool.enabled()) return; // STARBUCKS_NO_POOL=1 (sanitizer runs): nothing is pooled
    nn::bert_config c = st::tiny_config();
    c.hidden_size = 64;
    c.num_attention_heads = 4;
    c.intermediate_size = 128;
    c.max_position_embeddings = 64;
    c.hidden_dropout_prob = 0.1;
    c.attention_probs_dropout_prob = 0.1;
    nn::bert_layer<float> l(c, 12);
    // 8 texts of 64 tokens: activations of 128 KiB and attention tiles of 4 samples (256 KiB),
    // all above the pool's 64 KiB threshold.
    tensor<float, dextents<2>> m(8, 64);
    for (std::size_t b = 0; b < 8; ++b)
        for (std::size_t t = 0; t < 64; ++t) m(b, t) = t < 64 - 4 * b ? 1.0f : 0.0f;
    const auto mask = nn::additive_mask(m);
    const auto x = ag::constant_input(random<float>(dextents<3>(8, 64, 64), 80));
    auto step = [&](std::uint64_t s) {
        ag::tape tape;
        auto on = tape.activate();
        tape.backward({ag::mean(ag::square(l(x, mask, nn::dropout_source{true, 3, s})))});
    };
    step(0);
    step(1);
    const std::size_t warm = pool.os_allocations(), reused = pool.reuses();
    step(2);
    step(3);
    CHECK(pool.os_allocations() == warm);
    CHECK(pool.reuses() > reused);
}

} }  // namespace test_attention
