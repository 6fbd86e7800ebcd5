// SPDX-License-Identifier: Apache-2.0
// autograd::gradient_listener: during backward the tape reports each watched leaf once, at the
// moment its gradient is final (checked by snapshotting it there), before the pass ends where
// the graph allows; leaves no rule reaches come first. What overlapping the gradient sum with
// backward (distributed::gradient_reducer) relies on.
#include "testing.hpp"

#include "autograd_testing.hpp"

#include <memory>
#include <string>
#include <vector>

namespace { namespace test_gradient_listener {

using namespace starbucks;
using starbucks::testing::flat;
using starbucks::testing::random;
using starbucks::testing::weighted_sum;
namespace ag = starbucks::autograd;
using leaf = ag::var<double, dextents<2>>;

/// Copies each leaf's gradient when it is reported, and when (how many rules had run).
class snapshot_listener final : public ag::gradient_listener {
public:
    explicit snapshot_listener(std::vector<leaf> leaves) : vars_(std::move(leaves)) {
        for (const auto& v : vars_) states_.push_back(v.state().get());
    }
    std::span<ag::state_base* const> leaves() const override { return states_; }
    void begin(const std::vector<bool>& used) override {
        ++passes;
        this->used = used;
        at_rule.assign(vars_.size(), -1);
        grads.assign(vars_.size(), {});
        rules = 0;
    }
    void ready(std::size_t i) override {
        CHECK(at_rule[i] == -1); // once per pass
        at_rule[i] = rules;
        grads[i] = vars_[i].has_grad() ? flat(vars_[i].grad()) : std::vector<double>{};
    }
    void after_rule() override { ++rules; }

    int passes = 0;
    int rules = 0;
    std::vector<bool> used;
    std::vector<int> at_rule;
    std::vector<std::vector<double>> grads;

private:
    std::vector<leaf> vars_;
    std::vector<ag::state_base*> states_;
};

/// An embedding table used at the start and again at the end (tied, as BERT's MLM decoder),
/// a weight used through a prefix view, a late-only weight, and a leaf nothing uses.
struct graph {
    leaf table = ag::parameter(random<double>(dextents<2>(6, 4), 11));
    leaf w1 = ag::parameter(random<double>(dextents<2>(5, 4), 12));
    leaf w2 = ag::parameter(random<double>(dextents<2>(3, 5), 13));
    leaf unused = ag::parameter(random<double>(dextents<2>(2, 2), 14));

    ag::var<double, extents<>> loss() const {
        tensor<std::int64_t, extents<4>> ids;
        const std::int64_t rows[] = {0, 3, 5, 3};
        for (int i = 0; i < 4; ++i) ids.data()[i] = rows[i];
        auto x = ag::embedding(table, ids);                                  // (4, 4)
        auto h = ag::tanh(ag::matmul_nt(x, w1));                             // (4, 5)
        auto y = ag::matmul_nt(h, ag::prefix(w2, 2, 0));                     // (4, 2): w2's first 2 rows
        auto tied = ag::matmul_nt(ag::prefix(h, 4, 1), table);               // (4, 6): the table again
        return ag::add(weighted_sum(y, 21), weighted_sum(tied, 22));
    }
    std::vector<leaf> all() const { return {table, w1, w2, unused}; }
};

TEST_CASE("gradient_listener: each leaf is reported once, holding its final gradient, as soon as no rule is left to add to it") {
    graph g;
    snapshot_listener heard(g.all());
    ag::tape t;
    t.listen(&heard);
    {
        auto on = t.activate();
        const auto loss = g.loss();
        t.backward({loss});
    }
    REQUIRE(heard.passes == 1);
    CHECK(heard.used == std::vector<bool>{true, true, true, false});
    const auto vars = g.all();
    for (std::size_t i = 0; i < 3; ++i) {
        INFO("leaf " << i);
        REQUIRE(heard.at_rule[i] >= 0);
        CHECK(heard.grads[i] == flat(vars[i].grad())); // nothing added after the report
    }
    CHECK(heard.at_rule[3] == 0); // no rule reaches it: reported before the first
    CHECK(heard.grads[3].empty());
    const int total = heard.rules;
    CHECK(total == int(t.size()));
    // w2 is used only by the late product: final long before the pass ends. The table is used
    // by the first op: final only after the last rule.
    CHECK(heard.at_rule[2] < total - 3);
    CHECK(heard.at_rule[1] < heard.at_rule[0]);
    CHECK(heard.at_rule[0] == total - 1);
}

TEST_CASE("gradient_listener: accumulation over micro-batches, a listener attached too late, and no change to the gradients") {
    graph g;
    snapshot_listener heard(g.all());
    ag::tape t;
    // A first micro-batch with nobody listening: its rules' first uses are not noted.
    {
        auto on = t.activate();
        t.backward({g.loss()});
    }
    const auto after_one = flat(g.w2.grad());
    t.clear();
    t.listen(&heard);
    {
        auto on = t.activate();
        t.backward({g.loss()});
    }
    REQUIRE(heard.passes == 1);
    CHECK(heard.grads[2] == flat(g.w2.grad())); // the accumulated gradient, final when reported
    CHECK(heard.grads[2] != after_one);
    // A recording made before listening has no first uses: backward refuses rather than report
    // unfinished gradients as final.
    t.listen(nullptr);
    t.clear();
    {
        auto on = t.activate();
        const auto loss = g.loss();
        t.listen(&heard);
        CHECK_THROWS_WITH_AS(t.backward({loss}), doctest::Contains("attach it before the forward pass"), usage_error);
    }
    CHECK(heard.passes == 1);
    // Without a listener, backward gives bitwise the same gradients as with one.
    graph a, b;
    snapshot_listener on_b(b.all());
    ag::tape ta, tb;
    tb.listen(&on_b);
    {
        auto on = ta.activate();
        ta.backward({a.loss()});
    }
    {
        auto on = tb.activate();
        tb.backward({b.loss()});
    }
    const auto va = a.all(), vb = b.all();
    for (std::size_t i = 0; i < 3; ++i) CHECK(flat(va[i].grad()) == flat(vb[i].grad()));
}

} } // namespace ::test_gradient_listener
