// SPDX-License-Identifier: Apache-2.0
// GEMM throughput in BERT-like shapes, as FLOP/s; one variant per backend (and static vs
// dynamic extents, which must earn their compile time).
#include <benchmark/benchmark.h>

#include <starbucks/starbucks.hpp>

namespace {

using namespace starbucks;

/// (M, K) x (N, K)ᵀ: a linear layer's forward with a Hugging Face [out, in] weight.
template <class T, class B>
void BM_gemm_nt(benchmark::State& state) {
    const auto m = static_cast<std::size_t>(state.range(0));
    const auto k = static_cast<std::size_t>(state.range(1));
    const auto n = static_cast<std::size_t>(state.range(2));
    auto a = random_uniform<T, B>(extents<dyn, dyn>(m, k), rng_stream{1, 0});
    auto w = random_uniform<T, B>(extents<dyn, dyn>(n, k), rng_stream{2, 0});
    for (auto _ : state) {
        auto c = matmul_nt(a, w);
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(m) * double(n) * double(k),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

/// The same product with static widths K = 384, N = 1536 (MiniLM's FFN up-projection).
template <class T, class B>
void BM_gemm_nt_static(benchmark::State& state) {
    const auto m = static_cast<std::size_t>(state.range(0));
    auto a = random_uniform<T, B>(extents<dyn, 384>(m), rng_stream{1, 0});
    auto w = random_uniform<T, B>(extents<1536, 384>{}, rng_stream{2, 0});
    for (auto _ : state) {
        auto c = matmul_nt(a, w);
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(m) * 1536.0 * 384.0, benchmark::Counter::kIsIterationInvariantRate);
}

// The reference backend is a plain triple loop: small shapes keep a run short.
BENCHMARK(BM_gemm_nt<float, backend::reference>)->Name("BM_gemm_nt_reference_f32")->ArgNames({"M", "K", "N"})
    ->Args({64, 384, 384})->Args({128, 384, 1536})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_gemm_nt<double, backend::reference>)->Name("BM_gemm_nt_reference_f64")->ArgNames({"M", "K", "N"})
    ->Args({64, 384, 384})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_gemm_nt_static<float, backend::reference>)->Name("BM_gemm_nt_reference_f32_static")->ArgNames({"M"})
    ->Arg(128)->Unit(benchmark::kMillisecond);

} // namespace
