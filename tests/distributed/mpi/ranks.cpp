// SPDX-License-Identifier: Apache-2.0
// Data parallelism on real MPI: run as `mpiexec -n 2 test_distributed_mpi` (ctest does). Every
// rank runs every case in the same order. Checks the collectives, the float64 finite-difference
// gradient of all_gather_rows across ranks, and that 2 ranks × batch B/2 with gathered negatives
// take the same steps as 1 process × batch B for SRL with KL (STS CoSENT and MNRL, retrieval,
// retrieval with GradCache, 2dmse) and for pre-training (SMAE, MLM) — in float64, where
// reassociation leaves ~1e-12.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <starbucks/distributed/all_gather.hpp>
#include <starbucks/distributed/consensus.hpp>
#include <starbucks/distributed/data_parallel.hpp>
#include <starbucks/distributed/gradient_reducer.hpp>
#include <starbucks/distributed/mpi_communicator.hpp>
#include <starbucks/train/pretrainer.hpp>
#include <starbucks/train/trainer.hpp>

#include "../../train/train_testing.hpp"

namespace {

using namespace starbucks;
namespace ag = starbucks::autograd;
namespace mt = starbucks::matryoshka;
using train_testing::bert_tokenizer, train_testing::small_config, train_testing::small_sts_options, train_testing::stsb_test_rows;

distributed::mpi_communicator& world() {
    static distributed::mpi_communicator w(std::chrono::seconds(120)); // finalised at exit
    return w;
}

/// Retrieval groups from STS rows: the first sentence as query, the second as its positive, the
/// second sentences of the next rows as hard negatives.
std::vector<train::example> groups_from(const std::vector<train::example>& rows, std::size_t negatives) {
    std::vector<train::example> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        train::example e{{rows[i].texts[0], rows[i].texts[1]}, 0};
        for (std::size_t k = 1; k <= negatives; ++k) e.texts.push_back(rows[(i + 3 * k) % rows.size()].texts[1]);
        out.push_back(std::move(e));
    }
    return out;
}

template <class Model>
std::vector<double> weights(const Model& m) {
    std::vector<double> out;
    for (const auto& entry : m.parameters())
        std::visit([&](const auto& v) { out.insert(out.end(), v.value().data(), v.value().data() + v.size()); }, entry.second);
    return out;
}

struct run_result {
    std::vector<double> losses;
    std::vector<double> weights;
};

/// Trains a fresh small model (init seed `init`) for one epoch on `data` with `comm`.
run_result train_on(distributed::communicator& comm, const std::vector<train::example>& data, train::trainer_options o, std::uint64_t init) {
    nn::bert_encoder<double> model(small_config(), init);
    const auto tok = bert_tokenizer();
    train::trainer<double, backend::reference> t(model, tok, data, o, comm);
    run_result r;
    t.run([&](const train::step_report& s) { r.losses.push_back(s.loss); });
    r.weights = weights(model);
    return r;
}

} // namespace

TEST_CASE("mpi: the world has two ranks and the collectives sum, broadcast and gather") {
    auto& w = world();
    REQUIRE(w.size() == 2);
    std::vector<float> f{float(w.rank() + 1), 10.0f * float(w.rank() + 1)};
    w.all_reduce_sum(std::span<float>(f));
    CHECK(f == std::vector<float>{3, 30});
    std::vector<double> d{0.5 * w.rank()};
    w.all_reduce_sum(std::span<double>(d));
    CHECK(d[0] == 0.5);
    int value = w.rank() == 1 ? 42 : 0;
    w.broadcast(std::as_writable_bytes(std::span<int>(&value, 1)), 1);
    CHECK(value == 42);
    const std::vector<std::size_t> counts{1, 3};
    std::vector<int> mine(counts[static_cast<std::size_t>(w.rank())], w.rank() + 7);
    CHECK(distributed::all_gather_values<int>(w, mine, counts) == std::vector<int>{7, 8, 8, 8});
    CHECK(w.name().find("MPI") != std::string::npos);
}

TEST_CASE("mpi: all_gather_rows gives each rank the float64 gradient of the loss summed over ranks") {
    auto& w = world();
    const std::vector<std::size_t> rows{2, 3};
    const std::size_t mine = rows[static_cast<std::size_t>(w.rank())], width = 3, total = 5;
    tensor<double, dextents<2>> x0(mine, width), c(total, width);
    for (std::size_t i = 0; i < x0.size(); ++i) x0.data()[i] = std::sin(1.0 + double(i) + 7.0 * w.rank());
    for (std::size_t i = 0; i < c.size(); ++i) c.data()[i] = std::cos(0.3 * double(i) + 2.0 * w.rank()); // each rank's loss differs
    // loss_rank = Σ c ⊙ y² over the stacked rows y; the sum over ranks is what the gradient is of.
    const auto summed_loss = [&](const tensor<double, dextents<2>>& x) {
        ag::no_grad off;
        const auto y = distributed::all_gather_rows(w, ag::constant_input(tensor<double, dextents<2>>(x)), rows);
        double l = ag::sum(ag::mul(ag::mul(y, y), ag::constant_input(tensor<double, dextents<2>>(c)))).value().data()[0];
        w.all_reduce_sum(std::span<double>(&l, 1));
        return l;
    };
    ag::tape tape;
    auto x = ag::parameter(tensor<double, dextents<2>>(x0));
    {
        auto on = tape.activate();
        const auto y = distributed::all_gather_rows(w, x, rows);
        tape.backward({ag::sum(ag::mul(ag::mul(y, y), ag::constant_input(tensor<double, dextents<2>>(c))))});
    }
    const auto analytic = contiguous(x.grad());
    double worst = 0;
    const double h = 1e-6;
    for (int owner = 0; owner < 2; ++owner)
        for (std::size_t i = 0; i < rows[static_cast<std::size_t>(owner)] * width; ++i) {
            tensor<double, dextents<2>> plus(x0), minus(x0);
            if (w.rank() == owner) plus.data()[i] += h, minus.data()[i] -= h;
            const double numeric = (summed_loss(plus) - summed_loss(minus)) / (2 * h);
            if (w.rank() == owner) worst = std::max(worst, std::abs(numeric - analytic.data()[i]) / std::max(1.0, std::abs(numeric)));
        }
    CHECK(worst < 1e-7);
}

TEST_CASE("mpi: 2 ranks x batch B/2 with gathered negatives take the steps of 1 process x batch B (float64)") {
    auto& w = world();
    const auto rows = stsb_test_rows(21); // batches of 8, 8 and 5: the last splits 2 + 3
    struct setup {
        std::string name;
        train::trainer_options o;
        std::vector<train::example> data;
    };
    std::vector<setup> setups;
    train::trainer_options base;
    base.objective.pairs = mt::pair_list::parse("1:4,2:8,3:16");
    base.batch_size = 8;
    base.max_length = 24;
    base.lr = 2e-3;
    base.warmup_ratio = 0;
    base.dropout = false;
    base.seed = 5;
    setups.push_back({"SRL, CoSENT + KL", base, rows});
    auto mnrl = base;
    mnrl.objective.loss = train::task_loss::mnrl;
    setups.push_back({"SRL, MNRL + KL", mnrl, rows});
    auto twodmse = base;
    twodmse.objective.method = train::strategy::twodmse;
    setups.push_back({"2dmse, CoSENT", twodmse, rows});
    auto retrieval = base;
    retrieval.objective.task = train::task_kind::retrieval;
    retrieval.objective.kl_weight = 1.0;
    retrieval.objective.group_size = 3;
    retrieval.query_max_length = 16;
    retrieval.passage_max_length = 32;
    setups.push_back({"retrieval SRL + KL", retrieval, groups_from(rows, 2)});
    auto cached = retrieval;
    cached.grad_cache_chunk = 5;
    setups.push_back({"retrieval SRL + KL, GradCache", cached, groups_from(rows, 2)});
    auto retrieval_2dmse = retrieval;
    retrieval_2dmse.objective.method = train::strategy::twodmse;
    setups.push_back({"retrieval 2dmse", retrieval_2dmse, groups_from(rows, 2)});

    for (const auto& s : setups) {
        CAPTURE(s.name);
        const run_result one = train_on(distributed::self(), s.data, s.o, 3);
        auto half = s.o;
        half.batch_size = s.o.batch_size / 2;
        const run_result two = train_on(w, s.data, half, w.rank() == 0 ? 3 : 77); // rank 1's init is replaced by rank 0's
        REQUIRE(one.losses.size() == 3);
        REQUIRE(two.losses.size() == 3);
        CHECK(one.losses.front() != one.losses.back()); // the model moved
        for (std::size_t k = 0; k < 3; ++k) CHECK(two.losses[k] == doctest::Approx(one.losses[k]).epsilon(1e-11));
        double worst = 0, moved = 0;
        nn::bert_encoder<double> start(small_config(), 3);
        const auto initial = weights(start);
        for (std::size_t i = 0; i < one.weights.size(); ++i) {
            worst = std::max(worst, std::abs(one.weights[i] - two.weights[i]));
            moved = std::max(moved, std::abs(one.weights[i] - initial[i]));
        }
        MESSAGE(s.name << ": largest weight change " << moved << ", largest difference 1 vs 2 ranks " << worst);
        CHECK(moved > 1e-3);
        CHECK(worst < 1e-10);
        // The two ranks hold bitwise the same weights.
        distributed::fingerprint f;
        f.add(std::string_view(reinterpret_cast<const char*>(two.weights.data()), two.weights.size() * sizeof(double)));
        CHECK_NOTHROW(distributed::check_same_everywhere(w, f.value(), "weights"));
    }
}

TEST_CASE("mpi: float32 gradients of one micro-batch summed over 2 ranks equal one process's") {
    auto& w = world();
    const auto rows = stsb_test_rows(16);
    const auto o = small_sts_options(16);
    const auto tok = bert_tokenizer();
    nn::bert_encoder<float> single(small_config(), 3), shared(small_config(), 3);
    train::trainer<float, backend::reference> t1(single, tok, rows, o);
    auto half = o;
    half.batch_size = 8;
    train::trainer<float, backend::reference> t2(shared, tok, rows, half, w);
    const double l1 = t1.backward_batch(0, 0).total(), l2 = t2.backward_batch(0, 0).total();
    CHECK(l2 == doctest::Approx(l1).epsilon(1e-5));
    std::vector<std::shared_ptr<autograd::var_state<float, backend::reference>>> s1, s2;
    for (const auto& e : single.parameters()) std::visit([&](const auto& v) { s1.push_back(v.state()); }, e.second);
    for (const auto& e : shared.parameters()) std::visit([&](const auto& v) { s2.push_back(v.state()); }, e.second);
    distributed::all_reduce_gradients(w, s2);
    double diff = 0, norm = 0;
    for (std::size_t p = 0; p < s1.size(); ++p) {
        REQUIRE(s1[p]->has_grad() == s2[p]->has_grad());
        if (!s1[p]->has_grad()) continue;
        for (std::size_t i = 0; i < s1[p]->lay().size(); ++i) {
            const double a = s1[p]->grad_data()[i], b = s2[p]->grad_data()[i];
            diff += (a - b) * (a - b);
            norm += a * a;
        }
    }
    MESSAGE("float32: |g1 - g2| / |g1| = " << std::sqrt(diff / norm));
    CHECK(norm > 0);
    CHECK(std::sqrt(diff / norm) < 1e-5);
}

TEST_CASE("mpi: the gradient sum overlapped with backward equals the sum after it, bit for bit, and mostly starts early") {
    auto& w = world();
    const auto rows = stsb_test_rows(16);
    const auto o = small_sts_options(8);
    const auto tok = bert_tokenizer();
    nn::bert_encoder<float> a(small_config(), 3), b(small_config(), 3);
    train::trainer<float, backend::reference> ta(a, tok, rows, o, w), tb(b, tok, rows, o, w);
    std::vector<std::shared_ptr<autograd::var_state<float, backend::reference>>> sa, sb;
    for (const auto& e : a.parameters()) std::visit([&](const auto& v) { sa.push_back(v.state()); }, e.second);
    for (const auto& e : b.parameters()) std::visit([&](const auto& v) { sb.push_back(v.state()); }, e.second);
    autograd::gradient_arena<float, backend::reference> arena(sa);
    distributed::gradient_reducer<float, backend::reference> reducer(w, arena, 512);
    ta.backward_batch(0, 0, &reducer);
    reducer.finish();
    tb.backward_batch(0, 0);
    distributed::all_reduce_gradients(w, sb, 512, 256);
    std::size_t compared = 0;
    for (std::size_t p = 0; p < sa.size(); ++p) {
        REQUIRE(sa[p]->has_grad() == sb[p]->has_grad());
        if (!sa[p]->has_grad()) continue;
        compared += sa[p]->lay().size();
        CHECK(std::memcmp(sa[p]->grad_data(), sb[p]->grad_data(), sa[p]->lay().size() * sizeof(float)) == 0);
    }
    const auto r = reducer.last_report();
    MESSAGE("rank " << w.rank() << ": " << r.buckets << " buckets, " << r.elements_started_early << " of " << r.elements << " elements started early");
    CHECK(r.elements >= compared); // ranges of the arena: gaps and unused slots inside them
    CHECK(r.elements <= arena.size());
    CHECK(r.buckets > 10);
    CHECK(r.elements_started_early > 0);
}

TEST_CASE("mpi: ranks that disagree are told so on every rank") {
    auto& w = world();
    CHECK_NOTHROW(distributed::check_same_everywhere(w, 17, "options"));
    CHECK_THROWS_WITH_AS(distributed::check_same_everywhere(w, 17 + std::uint64_t(w.rank()), "options"),
                         doctest::Contains("rank 1 has other options than rank 0"), usage_error);
    // A rank that cannot start: it rethrows its own error, the other names it.
    const auto start = [&] {
        distributed::agree_to_start(w, [&] {
            if (w.rank() == 1) throw format_error("data.tsv:3", "row", "has 2 fields");
        });
    };
    if (w.rank() == 1) CHECK_THROWS_AS(start(), format_error);
    else CHECK_THROWS_WITH_AS(start(), doctest::Contains("rank 1 could not start"), usage_error);
}

TEST_CASE("mpi: pre-training (SMAE, MLM) on 2 ranks x batch B/2 takes the steps of 1 process x batch B (float64)") {
    auto& w = world();
    const auto repo = std::filesystem::weakly_canonical(train_testing::tests_dir()).parent_path();
    const text::wordpiece tok(text::vocab::load_txt(repo / "examples" / "models" / "small-bert" / "vocab.txt"));
    std::vector<std::vector<text::token_id>> docs;
    for (const auto& e : stsb_test_rows(21)) docs.push_back(tok.tokenize(e.texts[0] + " " + e.texts[1]));
    auto config = small_config();
    config.vocab_size = 8192;
    for (const auto method : {train::pretrain_method::smae, train::pretrain_method::mlm}) {
        CAPTURE(train::to_string(method));
        train::pretrainer_options o;
        o.method = method;
        o.pairs = mt::pair_list::parse("1:4,2:8,3:16");
        o.max_length = 24;
        o.lr = 3e-3;
        o.warmup_ratio = 0;
        o.dropout = false;
        o.seed = 11;
        const auto run = [&](distributed::communicator& comm, std::size_t batch, std::uint64_t init) {
            nn::bert_for_smae<double> model(config, init);
            auto oo = o;
            oo.batch_size = batch;
            train::pretrainer<double, backend::reference> t(model, tok, docs, oo, comm);
            run_result r;
            t.run([&](const train::step_report& s) { r.losses.push_back(s.loss); });
            r.weights = weights(model);
            return r;
        };
        const run_result one = run(distributed::self(), 8, 3);
        const run_result two = run(w, 4, w.rank() == 0 ? 3 : 77);
        REQUIRE(one.losses.size() == 3);
        REQUIRE(two.losses.size() == 3);
        for (std::size_t k = 0; k < 3; ++k) CHECK(two.losses[k] == doctest::Approx(one.losses[k]).epsilon(1e-11));
        double worst = 0;
        for (std::size_t i = 0; i < one.weights.size(); ++i) worst = std::max(worst, std::abs(one.weights[i] - two.weights[i]));
        MESSAGE(train::to_string(method) << ": losses " << one.losses[0] << " -> " << one.losses[2] << ", largest difference 1 vs 2 ranks " << worst);
        CHECK(one.losses[0] != one.losses[2]);
        CHECK(worst < 1e-10);
    }
}
