// SPDX-License-Identifier: Apache-2.0
// distributed/ without MPI: the one-process world, all_gather_rows on it (float64 gradcheck),
// gathered-negative targets in retrieval_srl, the start-up handshake helpers, the launcher
// environment, and a checkpoint's world size on resume. Several ranks: tests/distributed/mpi/.
#include "testing.hpp"

#include "../autograd/autograd_testing.hpp"

#include <cstdlib>
#include <vector>

#include <starbucks/distributed/all_gather.hpp>
#include <starbucks/distributed/communicator.hpp>
#include <starbucks/distributed/consensus.hpp>
#include <starbucks/distributed/data_parallel.hpp>
#include <starbucks/distributed/launcher.hpp>
#include <starbucks/losses/retrieval_srl.hpp>
#include <starbucks/train/checkpoint.hpp>

namespace { namespace test_single_process {

using namespace starbucks;
using starbucks::testing::random;
namespace ag = starbucks::autograd;
namespace mt = starbucks::matryoshka;
using matrix = tensor<double, dextents<2>>;

TEST_CASE("distributed single_process: one rank, collectives are copies, a bad root or count is refused") {
    auto& w = distributed::self();
    CHECK(w.rank() == 0);
    CHECK(w.size() == 1);
    CHECK(w.is_single());
    std::vector<float> v{1.5f, -2.0f};
    w.all_reduce_sum(std::span<float>(v));
    CHECK(v == std::vector<float>{1.5f, -2.0f});
    const std::vector<std::size_t> one{3};
    const std::vector<int> mine{4, 5, 6};
    CHECK(distributed::all_gather_values<int>(w, mine, one) == mine);
    int x = 0;
    CHECK_THROWS_AS(w.broadcast(std::as_writable_bytes(std::span<int>(&x, 1)), 1), usage_error);
    const std::vector<std::size_t> wrong{2};
    CHECK_THROWS_AS(distributed::all_gather_values<int>(w, mine, wrong), shape_error);
}

TEST_CASE("distributed all_gather_rows: identity on one rank, passes float64 gradcheck, checks its row counts") {
    auto& w = distributed::self();
    auto a = random<double>(dextents<2>(3, 4), 7);
    const std::vector<std::size_t> rows{3};
    const auto y = distributed::all_gather_rows(w, ag::constant_input(matrix(a)), rows);
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(y.value().data()[i] == a.data()[i]);
    auto f = [&](const auto& va) { return ag::sum(ag::mul(distributed::all_gather_rows(w, va, rows), distributed::all_gather_rows(w, va, rows))); };
    STARBUCKS_CHECK_GRADCHECK(ag::gradcheck(f, a), a.size());
    const std::vector<std::size_t> bad{2};
    CHECK_THROWS_WITH_AS(distributed::all_gather_rows(w, ag::constant_input(matrix(a)), bad), doctest::Contains("rank 0 holds (3, 4)"), shape_error);
}

TEST_CASE("distributed retrieval_srl with gathered passages: the halves of a batch average to the whole batch's loss") {
    // 4 queries, groups of 2: the loss of queries 0-1 and of queries 2-3 (first_query 2), each
    // against all 8 passages, average to the loss of all 4 — what two ranks' shares sum to.
    const auto pairs = mt::pair_list::parse("1:2,2:4");
    std::vector<ag::var<double, dextents<2>>> q, p, q_low, q_high;
    for (std::size_t n = 0; n < 3; ++n) {
        q.push_back(ag::constant_input(random<double>(dextents<2>(4, 4), 10 + n)));
        p.push_back(ag::constant_input(random<double>(dextents<2>(8, 4), 20 + n)));
        q_low.push_back(ag::slice(q.back(), 0, 0, 2));
        q_high.push_back(ag::slice(q.back(), 0, 2, 4));
    }
    const auto whole = losses::retrieval_srl(q, p, pairs, 2, 0.5);
    const auto low = losses::retrieval_srl(q_low, p, pairs, 2, 0.5, 0);
    const auto high = losses::retrieval_srl(q_high, p, pairs, 2, 0.5, 2);
    REQUIRE(whole.terms().size() == low.terms().size());
    for (std::size_t k = 0; k < whole.terms().size(); ++k) {
        CAPTURE(whole.terms()[k].name);
        CHECK((low.terms()[k].value + high.terms()[k].value) / 2 == doctest::Approx(whole.terms()[k].value).epsilon(1e-12));
    }
    CHECK_THROWS_WITH_AS(losses::retrieval_srl(q_high, p, pairs, 2, 0.5, 3), doctest::Contains("from 3"), shape_error);
}

TEST_CASE("distributed fingerprint and handshake: same bytes agree, a failing prepare rethrows on one rank") {
    distributed::fingerprint a, b, c;
    a.add("ab").add("c");
    b.add("a").add("bc");
    c.add("ab").add("c");
    CHECK(a.value() != b.value());
    CHECK(a.value() == c.value());
    CHECK_NOTHROW(distributed::check_same_everywhere(distributed::self(), a.value(), "options"));
    CHECK_THROWS_AS(distributed::agree_to_start(distributed::self(), [] { throw format_error("x.tsv:1", "row", "bad"); }), format_error);
    int ran = 0;
    distributed::agree_to_start(distributed::self(), [&] { ++ran; });
    CHECK(ran == 1);
}

TEST_CASE("distributed all_reduce_gradients and broadcast_parameters do nothing on one process") {
    auto p = ag::parameter(random<float>(dextents<1>(5), 3));
    p.state()->grad_data()[0] = 2.5f;
    std::vector<std::shared_ptr<ag::var_state<float, backend::reference>>> states{p.state()};
    distributed::all_reduce_gradients(distributed::self(), states);
    distributed::broadcast_parameters(distributed::self(), states);
    CHECK(p.state()->grad_data()[0] == 2.5f);
}

TEST_CASE("distributed launched_world reads Open MPI's and PMI's variables and ignores junk") {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS"}) ::unsetenv(v);
    CHECK_FALSE(distributed::launched_world());
    ::setenv("PMI_SIZE", "4", 1);
    ::setenv("PMI_RANK", "3", 1);
    auto l = distributed::launched_world();
    REQUIRE(l);
    CHECK(l->size == 4);
    CHECK(l->rank == 3);
    CHECK(l->variable == "PMI_SIZE");
    CHECK(l->local_size == 4); // no MPI_LOCALNRANKS: all on this machine
    ::setenv("OMPI_COMM_WORLD_SIZE", "2x", 1); // not a number: the next launcher's variables count
    CHECK(distributed::launched_world()->variable == "PMI_SIZE");
    ::setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    ::setenv("OMPI_COMM_WORLD_RANK", "1", 1);
    ::setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "1", 1);
    l = distributed::launched_world();
    CHECK(l->size == 2);
    CHECK(l->rank == 1);
    CHECK(l->local_size == 1);
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", "PMI_SIZE", "PMI_RANK"}) ::unsetenv(v);
}

TEST_CASE("distributed resume: another number of processes resumes only with the same examples per batch") {
    train::train_state saved;
    saved.options = {{"lr", 0.001}, {"batch_size", 4}, {"world_size", 2}};
    CHECK_NOTHROW(train::check_same_options(saved, {{"lr", 0.001}, {"batch_size", 8}}, "c"));                       // 1 x 8
    CHECK_NOTHROW(train::check_same_options(saved, {{"lr", 0.001}, {"batch_size", 2}, {"world_size", 4}}, "c"));    // 4 x 2
    CHECK_THROWS_WITH_AS(train::check_same_options(saved, {{"lr", 0.001}, {"batch_size", 4}}, "run/checkpoints/checkpoint-000004"),
                         doctest::Contains("had 2 process(es) x batch size 4 = 8 examples per batch and this run has 1 x 4; resume with the same "
                                           "examples per batch (--batch-size 8), or start a new run from its weights with --model "
                                           "run/checkpoints/checkpoint-000004"),
                         usage_error);
    CHECK_THROWS_WITH_AS(train::check_same_options(saved, {{"lr", 0.002}, {"batch_size", 8}}, "c"), doctest::Contains("option \"lr\" was 0.001"),
                         usage_error);
    train::train_state older; // before data parallelism: no world size, one process
    older.options = {{"lr", 0.001}, {"batch_size", 6}};
    CHECK_NOTHROW(train::check_same_options(older, {{"lr", 0.001}, {"batch_size", 6}}, "c"));
    CHECK_NOTHROW(train::check_same_options(older, {{"lr", 0.001}, {"batch_size", 3}, {"world_size", 2}}, "c"));
    CHECK_THROWS_WITH_AS(train::check_same_options(older, {{"lr", 0.001}, {"batch_size", 6}, {"world_size", 4}}, "c"),
                         doctest::Contains("this run has 4 x 6; resume with the same examples per batch, or start"), usage_error);
}

} }  // namespace test_single_process
