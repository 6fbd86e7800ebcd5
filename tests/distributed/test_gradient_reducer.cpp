// SPDX-License-Identifier: Apache-2.0
// distributed::gradient_reducer without MPI: on a "mirror" world (two ranks that hold the same
// data, so a sum doubles) the sum overlapped with backward, over ranges of the gradient arena, gives bitwise what all_reduce_gradients
// gives after it, for STS SRL and retrieval with GradCache (several backward passes per step);
// most of the gradient starts summing while rules are still to run; misuse is refused.
#include "testing.hpp"

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <starbucks/distributed/communicator.hpp>
#include <starbucks/distributed/data_parallel.hpp>
#include <starbucks/distributed/gradient_reducer.hpp>

#include "../train/train_testing.hpp"

namespace { namespace test_gradient_reducer {

using namespace starbucks;
using train_testing::bert_tokenizer, train_testing::small_config, train_testing::small_sts_options, train_testing::stsb_test_rows;
using states_t = std::vector<std::shared_ptr<autograd::var_state<double, backend::reference>>>;

/// Two ranks with the same data: every sum doubles, a gather repeats this rank's part. Started
/// sums are applied only in wait_all, so a caller that reads them earlier sees undoubled values.
class mirror_world final : public distributed::communicator {
public:
    int rank() const noexcept override { return 0; }
    int size() const noexcept override { return 2; }
    std::string name() const override { return "mirror"; }
    void all_reduce_sum(std::span<float>) override { FAIL("float sums are not expected here"); }
    void all_reduce_sum(std::span<double> v) override {
        for (auto& x : v) x *= 2;
    }
    void broadcast(std::span<std::byte>, int) override {}
    void all_gather(std::span<const std::byte> mine, std::span<std::byte> all, std::span<const std::size_t> counts) override {
        REQUIRE(counts.size() == 2);
        REQUIRE(counts[0] == mine.size());
        REQUIRE(counts[1] == mine.size());
        if (mine.empty()) return;
        std::memcpy(all.data(), mine.data(), mine.size());
        std::memcpy(all.data() + mine.size(), mine.data(), mine.size());
    }
    void start_all_reduce_sum(std::span<double> v) override { started.push_back(v); }
    void progress() override { ++progress_calls; }
    void wait_all() override {
        for (auto v : started) all_reduce_sum(v);
        started_total += started.size();
        started.clear();
    }

    std::vector<std::span<double>> started;
    std::size_t started_total = 0;
    std::size_t progress_calls = 0;
};

states_t states_of(const nn::bert_encoder<double>& m) {
    states_t out;
    for (const auto& e : m.parameters()) std::visit([&](const auto& v) { out.push_back(v.state()); }, e.second);
    return out;
}

/// Runs batch 0 of `o` on two fresh identical models in the mirror world, one summed with the
/// reducer during backward and one with all_reduce_gradients after it; their gradients must
/// hold the same bits. Returns the reducer's report and the gradient elements of the embeddings
/// (final only after the last rule, as the lookup is the first op).
std::pair<distributed::overlap_report, std::size_t> compare(const std::vector<train::example>& data, const train::trainer_options& o) {
    mirror_world world;
    const auto tok = bert_tokenizer();
    nn::bert_encoder<double> a(small_config(), 3), b(small_config(), 3);
    train::trainer<double, backend::reference> ta(a, tok, data, o, world), tb(b, tok, data, o, world);
    autograd::gradient_arena<double, backend::reference> arena(states_of(a));
    distributed::gradient_reducer<double, backend::reference> reducer(world, arena, 512);
    const double la = ta.backward_batch(0, 0, &reducer).total();
    CHECK(world.started.size() > 0); // started during backward, not yet completed
    reducer.finish();
    const double lb = tb.backward_batch(0, 0).total();
    distributed::all_reduce_gradients(world, states_of(b), 512, 256);
    CHECK(la == lb);
    const auto sa = states_of(a), sb = states_of(b);
    std::size_t with_grad = 0;
    for (std::size_t p = 0; p < sa.size(); ++p) {
        CAPTURE(p);
        REQUIRE(sa[p]->has_grad() == sb[p]->has_grad());
        if (!sa[p]->has_grad()) continue;
        with_grad += sa[p]->lay().size();
        CHECK(std::memcmp(sa[p]->grad_data(), sb[p]->grad_data(), sa[p]->lay().size() * sizeof(double)) == 0);
    }
    std::size_t embeddings = 0;
    for (const auto& e : a.parameters())
        if (e.first.find("embeddings.") != std::string::npos) std::visit([&](const auto& v) { embeddings += v.size(); }, e.second);
    const auto r = reducer.last_report();
    // Every gradient is summed, in ranges of the arena (with the gaps and unused slots inside them).
    CHECK(r.elements >= with_grad);
    CHECK(r.elements <= arena.size());
    CHECK(world.started_total == r.buckets);
    CHECK(world.progress_calls > 0);
    return {r, embeddings};
}

TEST_CASE("gradient_reducer: summing during backward equals summing after it, bit for bit (STS SRL; retrieval with GradCache)") {
    const auto rows = stsb_test_rows(16);
    const auto o = small_sts_options(8);
    const auto sts_run = compare(rows, o);
    const auto& sts = sts_run.first;
    const std::size_t embeddings = sts_run.second;
    MESSAGE("STS SRL: " << sts.buckets << " buckets, " << sts.elements_started_early << " of " << sts.elements
                        << " gradient elements started with rules still to run (" << embeddings << " are the embeddings')");
    CHECK(sts.buckets > 10);
    // Everything but the embeddings (and at most one bucket, under 512 elements and their
    // 64-byte alignment gaps, that shares their end) starts early.
    CHECK(sts.elements_started_early + embeddings + 1024 >= sts.elements);
    CHECK(sts.elements_started_early < sts.elements);

    auto retrieval = o;
    retrieval.objective.task = train::task_kind::retrieval;
    retrieval.objective.kl_weight = 1.0;
    retrieval.objective.group_size = 2;
    retrieval.query_max_length = 16;
    retrieval.passage_max_length = 24;
    retrieval.grad_cache_chunk = 3; // several backward passes: only the last is heard
    std::vector<train::example> groups;
    for (std::size_t i = 0; i < rows.size(); ++i) // the next rows' second sentences as hard negatives
        groups.push_back(train::example{{rows[i].texts[0], rows[i].texts[1], rows[(i + 3) % rows.size()].texts[1]}, 0});
    const auto cached = compare(groups, retrieval).first;
    CHECK(cached.elements_started_early + embeddings + 1024 >= cached.elements);
}

TEST_CASE("gradient_reducer: a step no backward reported sums in finish(); two reported passes are refused") {
    mirror_world world;
    auto w = autograd::parameter(tensor<double, dextents<1>>(3));
    w.mutable_value().data()[0] = 1.5;
    w.state()->grad_data()[1] = 2.0;
    autograd::gradient_arena<double, backend::reference> arena({w.state()});
    distributed::gradient_reducer<double, backend::reference> reducer(world, arena);
    reducer.finish(); // nothing heard: every bucket summed now
    CHECK(w.state()->grad_data()[1] == 4.0);
    CHECK(reducer.last_report().buckets == 1);
    CHECK(reducer.last_report().elements_started_early == 0);
    CHECK(reducer.last_report().during_s == 0);

    autograd::tape t;
    t.listen(&reducer);
    {
        auto on = t.activate();
        t.backward({autograd::sum(autograd::mul(w, w))});
        t.clear();
        const auto again = autograd::sum(w);
        CHECK_THROWS_WITH_AS(t.backward({again}), doctest::Contains("a second backward pass reported in one step"), internal_error);
    }
}

} } // namespace ::test_gradient_reducer
