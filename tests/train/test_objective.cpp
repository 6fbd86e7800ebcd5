// SPDX-License-Identifier: Apache-2.0
// train/objective.hpp on a tiny BERT in double: SRL equals its per-pair losses computed one by
// one, the multi-target step passes gradcheck, and 2dmse / separate / full build the terms
// METHOD.md §3 describes.
#include "testing.hpp"

#include "../nn/nn_testing.hpp"

#include <set>

#include <starbucks/train/objective.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_objective {

using namespace starbucks;
namespace ag = starbucks::autograd;
namespace mt = starbucks::matryoshka;
namespace st = starbucks::testing;
using starbucks::testing::flat;

namespace {

/// A 3-layer, 4-wide BERT and a batch of 3 scored pairs (6 texts) with padding.
struct setup {
    nn::bert_encoder<double> model{st::tiny_config(3), 21};
    std::vector<std::size_t> lengths{4, 2, 3, 4, 1, 3};
    tensor<std::int64_t, dextents<2>> ids = st::token_ids(lengths, 4, 11, 22);
    tensor<double, dextents<2>> mask = st::padding_mask(lengths, 4);
    train::batch_layout<double> pairs_layout{3, 2, {0.5, 4.0, 2.0}};
    train::batch_layout<double> triplets_layout{2, 3, {}};
    train::objective_options options;

    setup() {
        st::randomize(model.parameters(), 23);
        options.pairs = mt::pair_list::parse("1:2,2:3,3:4");
    }
};

/// The weight of each parameter gradient, flattened, in parameter order.
std::vector<double> all_grads(const nn::parameter_list<double, backend::reference>& params) {
    std::vector<double> out;
    for (const auto& [name, value] : params)
        std::visit([&](const auto& v) {
            const auto g = flat(v.grad());
            out.insert(out.end(), g.begin(), g.end());
        }, value);
    return out;
}
void zero_all(const nn::parameter_list<double, backend::reference>& params) {
    for (const auto& [name, value] : params) std::visit([](auto v) { v.zero_grad(); }, value);
}

} // namespace

TEST_CASE("objective: SRL is the sum of per-pair CoSENT losses and 0.3-weighted KLs to the largest pair, computed one by one") {
    setup s;
    const auto hidden = s.model(s.ids, s.mask);
    const auto total = train::objective(s.options, hidden, s.mask, s.pairs_layout, 0);
    REQUIRE(total.size() == 5); // 3 task terms + 2 KL terms
    double expected = 0;
    std::size_t k = 0;
    const auto teacher = nn::mean_pooling(hidden[3], s.mask);
    for (const auto& p : s.options.pairs) {
        const auto f = nn::mean_pooling(hidden[p.layers], s.mask);
        const auto u = ag::prefix(f, p.dim);
        const double task = losses::cosent(ag::slice(u, 0, 0, 3), ag::slice(u, 0, 3, 6), s.pairs_layout.scores, 20.0).value()();
        CHECK(total.terms()[k].name == "loss_" + mt::label(p));
        CHECK(total.terms()[k].value == doctest::Approx(task).epsilon(1e-14));
        CHECK(total.terms()[k].weight == 1.0);
        ++k;
        expected += task;
        if (p == s.options.pairs.largest()) continue;
        const double kl = losses::kl_coordinates(ag::prefix(teacher, p.dim), u).value()();
        CHECK(total.terms()[k].name == "kl_" + mt::label(p));
        CHECK(total.terms()[k].value == doctest::Approx(kl).epsilon(1e-14));
        CHECK(total.terms()[k].weight == 0.3);
        CHECK(kl > 0);
        ++k;
        expected += 0.3 * kl;
    }
    CHECK(total.total() == doctest::Approx(expected).epsilon(1e-14));
}

TEST_CASE("objective: one seeded backward of the SRL terms equals the backward of their differentiable sum") {
    setup s;
    const auto params = s.model.parameters();
    std::vector<double> seeded, summed;
    {
        ag::tape tape;
        auto on = tape.activate();
        const auto total = train::objective(s.options, s.model(s.ids, s.mask), s.mask, s.pairs_layout, 0);
        total.backward(tape);
        seeded = all_grads(params);
    }
    zero_all(params);
    {
        ag::tape tape;
        auto on = tape.activate();
        const auto sum = train::objective(s.options, s.model(s.ids, s.mask), s.mask, s.pairs_layout, 0).sum();
        tape.backward({sum});
        summed = all_grads(params);
    }
    REQUIRE(seeded.size() == summed.size());
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < seeded.size(); ++i) {
        CHECK(seeded[i] == doctest::Approx(summed[i]).epsilon(1e-12));
        nonzero += seeded[i] != 0;
    }
    CHECK(nonzero > seeded.size() / 2);
}

TEST_CASE("objective: the whole SRL multi-target step passes gradcheck in float64 (CoSENT pairs and MNRL triplets)") {
    for (const bool triplets : {false, true}) {
        CAPTURE(triplets);
        setup s;
        s.options.loss = triplets ? train::task_loss::mnrl : train::task_loss::cosent;
        const auto& layout = triplets ? s.triplets_layout : s.pairs_layout;
        auto word = contiguous(s.model.embeddings.word_embeddings.weight.value());
        auto q0 = contiguous(s.model.layers[0].attention.query.weight.value());
        auto out2 = contiguous(s.model.layers[2].ffn.output.weight.value());
        auto f = [&](const auto& vw, const auto& vq, const auto& vo) {
            auto m = s.model;
            m.embeddings.word_embeddings.weight = vw;
            m.layers[0].attention.query.weight = vq;
            m.layers[2].ffn.output.weight = vo;
            return train::objective(s.options, m(s.ids, s.mask), s.mask, layout, 0).sum();
        };
        STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, word, q0, out2), word.size() + q0.size() + out2.size());
    }
}

TEST_CASE("objective: detach_teacher stops the KL gradient into the teacher's layers only") {
    setup s;
    s.options.pairs = mt::pair_list::parse("1:2,3:4");
    const auto params = s.model.parameters();
    auto grad_of_last_layer_kl = [&](bool detach) {
        s.options.detach_teacher = detach;
        zero_all(params);
        ag::tape tape;
        auto on = tape.activate();
        const auto total = train::objective(s.options, s.model(s.ids, s.mask), s.mask, s.pairs_layout, 0);
        tape.backward({total.loss_terms()[1]}); // the KL term only
        return flat(s.model.layers[2].ffn.output.weight.grad());
    };
    const auto attached = grad_of_last_layer_kl(false), detached = grad_of_last_layer_kl(true);
    double a = 0, d = 0;
    for (std::size_t i = 0; i < attached.size(); ++i) a += std::abs(attached[i]), d += std::abs(detached[i]);
    CHECK(a > 0);   // the released code's KL trains the teacher's layer too
    CHECK(d == 0.0); // layer 3 only feeds the teacher
}

TEST_CASE("objective: 2dmse draws one last-layer dim, one earlier layer and dim per step; weights follow the paper or the fix") {
    setup s;
    s.options.method = train::strategy::twodmse;
    const auto hidden = s.model(s.ids, s.mask);
    std::set<std::string> names;
    for (std::uint64_t step = 0; step < 40; ++step) {
        const auto t = train::objective(s.options, hidden, s.mask, s.pairs_layout, step);
        REQUIRE(t.size() == 3);
        CHECK(t.terms()[0].name.rfind("loss_last_d", 0) == 0);
        const std::string& layer_term = t.terms()[1].name; // loss_layer{l}_d{d}
        const std::size_t l = std::stoul(layer_term.substr(10, layer_term.find('_', 10) - 10));
        CHECK((l == 1 || l == 2));
        CHECK(t.terms()[1].weight == doctest::Approx(1.0 / double(l)));
        CHECK(t.terms()[2].name == "kl_layer" + std::to_string(l));
        CHECK(t.terms()[2].weight == doctest::Approx(0.3));
        // The same step draws the same sizes; the KL is on full-width vectors at temperature 0.3.
        const auto again = train::objective(s.options, hidden, s.mask, s.pairs_layout, step);
        CHECK(again.terms()[1].name == layer_term);
        const auto fl = nn::mean_pooling(hidden[l], s.mask), fL = nn::mean_pooling(hidden[3], s.mask);
        CHECK(t.terms()[2].value == doctest::Approx(losses::kl_coordinates(fL, fl, false, 0.3).value()()).epsilon(1e-14));
        names.insert(t.terms()[0].name);
        names.insert(layer_term);
    }
    CHECK(names.size() > 4); // the draws vary across steps
    s.options.twodmse_corrected = true;
    CHECK(train::objective(s.options, hidden, s.mask, s.pairs_layout, 3).terms()[1].weight == 1.0);
}

TEST_CASE("objective: separate trains the first n layers at full width, full the last layer only") {
    setup s;
    const auto hidden = s.model(s.ids, s.mask, 2);
    s.options.method = train::strategy::separate;
    s.options.pairs = mt::pair_list::parse("2:3");
    CHECK(train::layers_needed(s.options, 3) == 2);
    const auto sep = train::objective(s.options, hidden, s.mask, s.pairs_layout, 0);
    REQUIRE(sep.size() == 1);
    CHECK(sep.terms()[0].name == "loss_n2_d4");
    const auto f2 = nn::mean_pooling(hidden[2], s.mask);
    CHECK(sep.terms()[0].value == doctest::Approx(losses::cosent(ag::slice(f2, 0, 0, 3), ag::slice(f2, 0, 3, 6), s.pairs_layout.scores, 20.0)
                                                      .value()()).epsilon(1e-14));
    s.options.method = train::strategy::full;
    s.options.model_layers = 3;
    CHECK(train::layers_needed(s.options, 3) == 3);
    CHECK_THROWS_AS(train::objective(s.options, hidden, s.mask, s.pairs_layout, 0), usage_error); // only 2 layers ran
    const auto full = train::objective(s.options, s.model(s.ids, s.mask), s.mask, s.pairs_layout, 0);
    REQUIRE(full.size() == 1);
    CHECK(full.terms()[0].name == "loss_n3_d4");
}

TEST_CASE("objective: a layout that does not fit the loss or the batch is refused") {
    setup s;
    const auto hidden = s.model(s.ids, s.mask);
    CHECK_THROWS_AS(train::objective(s.options, hidden, s.mask, train::batch_layout<double>{2, 3, {1, 2}}, 0), usage_error);
    CHECK_THROWS_AS(train::objective(s.options, hidden, s.mask, train::batch_layout<double>{2, 2, {1, 2}}, 0), shape_error);
    CHECK_THROWS_AS(train::parse_strategy("matryoshka"), usage_error);
    CHECK_THROWS_AS(train::parse_task_loss("triplet"), usage_error);
}

} }  // namespace test_objective
