// SPDX-License-Identifier: Apache-2.0
// Data parallelism on backend::cuda through distributed::nccl_communicator, run as
// `mpiexec -n 2` on the emulated device (tests/cuda/emulator: each rank emulates one GPU and
// its nccl.h carries the collectives over MPI), and built against the real kernels and NCCL as
// test_distributed_nccl for benchmarks/gpu/run.sh (one rank per GPU). Checks the device collectives, that the float32
// gradients of one micro-batch summed over 2 ranks (gathered negatives included) equal one
// process's, that the overlapped gradient sum equals the sum after backward bit for bit, and
// that 2 ranks x batch B/2 train like 1 process x batch B. Everything runs on backend::cuda:
// tests/cuda/test_cuda_training.cpp compares that backend's training with the reference's.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <span>
#include <vector>

#include <starbucks/backend/cuda/cuda.hpp>
#include <starbucks/distributed/data_parallel.hpp>
#include <starbucks/distributed/gradient_reducer.hpp>
#include <starbucks/distributed/mpi_communicator.hpp>
#include <starbucks/distributed/nccl_communicator.hpp>
#include <starbucks/train/trainer.hpp>

#include "../../train/train_testing.hpp"

namespace {

using namespace starbucks;
using backend::cuda;
using train_testing::bert_tokenizer, train_testing::small_config, train_testing::small_sts_options, train_testing::stsb_test_rows,
    train_testing::weights_of;

distributed::mpi_communicator& host_world() {
    static distributed::mpi_communicator w(std::chrono::seconds(120)); // finalised at exit
    return w;
}
distributed::nccl_communicator& world() {
    static distributed::nccl_communicator w(host_world(), std::chrono::seconds(120));
    return w;
}

template <class T>
std::vector<T> download(const T* device, std::size_t n) {
    std::vector<T> h(n);
    cuda::download(cuda::default_context(), h.data(), device, n * sizeof(T));
    return h;
}
template <class T>
T* upload(const std::vector<T>& host) {
    auto* p = static_cast<T*>(cuda::allocate(host.size() * sizeof(T)));
    cuda::upload(cuda::default_context(), p, host.data(), host.size() * sizeof(T));
    return p;
}

std::vector<std::shared_ptr<autograd::var_state<float, cuda>>> states_of(const nn::bert_encoder<float, cuda>& m) {
    std::vector<std::shared_ptr<autograd::var_state<float, cuda>>> s;
    for (const auto& e : m.parameters()) std::visit([&](const auto& v) { s.push_back(v.state()); }, e.second);
    return s;
}
std::vector<float> grads_of(const std::vector<std::shared_ptr<autograd::var_state<float, cuda>>>& s) {
    std::vector<float> out;
    for (const auto& p : s) {
        if (!p->has_grad()) continue;
        const auto g = download(p->grad_data(), p->lay().size());
        out.insert(out.end(), g.begin(), g.end());
    }
    return out;
}
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
        norm += double(a[i]) * double(a[i]);
    }
    REQUIRE(norm > 0);
    return std::sqrt(diff / norm);
}

// Any world size: on a machine with one GPU, benchmarks/gpu/run.sh runs this case alone as one
// rank (NCCL refuses two ranks on one GPU); the emulated suite runs it as two.
TEST_CASE("nccl: device collectives sum, broadcast and gather device memory; host collectives still go through MPI") {
    auto& w = world();
    const int n = w.size();
    CHECK(w.name().find("NCCL") != std::string::npos);
    CHECK(w.name().find("MPI") != std::string::npos);
    REQUIRE(w.device() != nullptr);
    const float r = float(w.rank());

    float* f = upload(std::vector<float>{r + 1, 10 * (r + 1)});
    w.device()->all_reduce_sum(f, 2);
    double* d = upload(std::vector<double>{0.5 * r});
    w.device()->all_reduce_sum(d, 1);
    int* i = upload(std::vector<int>{w.rank() == n - 1 ? 42 : 0, 7});
    w.device()->broadcast(i, sizeof(int), n - 1);
    // Rank k gives k + 1 copies of k + 7: rows of different counts.
    std::vector<std::size_t> counts;
    std::vector<int> expected;
    for (int k = 0; k < n; ++k) {
        counts.push_back((k + 1) * sizeof(int));
        expected.insert(expected.end(), k + 1, k + 7);
    }
    int* mine = upload(std::vector<int>(w.rank() + 1, w.rank() + 7));
    int* all = upload(std::vector<int>(expected.size(), -1));
    w.device()->all_gather(mine, all, counts);
    w.device()->synchronize();
    const float ranks_sum = float(n * (n + 1) / 2);
    CHECK(download(f, 2) == std::vector<float>{ranks_sum, 10 * ranks_sum});
    CHECK(download(d, 1) == std::vector<double>{0.25 * n * (n - 1)});
    CHECK(download(i, 2) == std::vector<int>{42, 7});
    CHECK(download(all, expected.size()) == expected);
    for (void* p : {static_cast<void*>(f), static_cast<void*>(d), static_cast<void*>(i), static_cast<void*>(mine), static_cast<void*>(all)})
        cuda::deallocate(p, 0);

    std::vector<float> host{r};
    w.all_reduce_sum(std::span<float>(host)); // the host communicator's, on host memory
    CHECK(host[0] == float(n * (n - 1) / 2));
}

TEST_CASE("nccl: float32 gradients of one micro-batch summed over 2 ranks equal one process's") {
    auto& w = world();
    const auto rows = stsb_test_rows(16);
    const auto o = small_sts_options(16);
    const auto tok = bert_tokenizer();
    nn::bert_encoder<float, cuda> single(small_config(), 3), shared(small_config(), 3);
    train::trainer<float, cuda> t1(single, tok, rows, o);
    auto half = o;
    half.batch_size = 8;
    train::trainer<float, cuda> t2(shared, tok, rows, half, w); // CoSENT over gathered rows
    const double l1 = t1.backward_batch(0, 0).total(), l2 = t2.backward_batch(0, 0).total();
    CHECK(l2 == doctest::Approx(l1).epsilon(1e-5));
    const auto s2 = states_of(shared);
    distributed::all_reduce_gradients(w, s2);
    const double rel = relative_difference(grads_of(states_of(single)), grads_of(s2));
    MESSAGE("float32 over NCCL: |g1 - g2| / |g1| = " << rel);
    CHECK(rel < 1e-5);
}

TEST_CASE("nccl: the gradient sum overlapped with backward equals the sum after it on the device, bit for bit") {
    auto& w = world();
    const auto rows = stsb_test_rows(16);
    const auto o = small_sts_options(8);
    const auto tok = bert_tokenizer();
    nn::bert_encoder<float, cuda> a(small_config(), 3), b(small_config(), 3);
    train::trainer<float, cuda> ta(a, tok, rows, o, w), tb(b, tok, rows, o, w);
    const auto sa = states_of(a), sb = states_of(b);
    autograd::gradient_arena<float, cuda> arena(sa);
    distributed::gradient_reducer<float, cuda> reducer(w, arena, 512);
    ta.backward_batch(0, 0, &reducer);
    reducer.finish();
    tb.backward_batch(0, 0);
    distributed::all_reduce_gradients(w, sb);
    const auto ga = grads_of(sa), gb = grads_of(sb);
    REQUIRE(ga.size() == gb.size());
    CHECK(std::memcmp(ga.data(), gb.data(), ga.size() * sizeof(float)) == 0);
    CHECK(reducer.last_report().buckets > 10);
}

TEST_CASE("nccl: 2 ranks x batch B/2, from rank 0's weights, take the steps of 1 process x batch B") {
    auto& w = world();
    const auto rows = stsb_test_rows(24);
    auto o = small_sts_options(8);
    o.lr = 2e-3;
    o.seed = 5;
    o.max_steps = 3;
    const auto tok = bert_tokenizer();
    nn::bert_encoder<float, cuda> single(small_config(), 7);
    nn::bert_encoder<float, cuda> shared(small_config(), 7 + 100 * std::uint64_t(w.rank())); // rank 1's own start is overwritten
    std::vector<double> l1, l2;
    train::trainer<float, cuda>(single, tok, rows, o).run([&](const train::step_report& r) { l1.push_back(r.loss); }, {});
    auto half = o;
    half.batch_size = 4;
    train::trainer<float, cuda>(shared, tok, rows, half, w).run([&](const train::step_report& r) { l2.push_back(r.loss); }, {});
    REQUIRE(l1.size() == 3);
    REQUIRE(l2.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) CHECK(l2[i] == doctest::Approx(l1[i]).epsilon(1e-4));
    const double rel = relative_difference(weights_of(single), weights_of(shared));
    MESSAGE("rank " << w.rank() << ": weights after 3 steps differ by " << rel << " (normwise)");
    CHECK(rel < 1e-4);
}

} // namespace
