// SPDX-License-Identifier: Apache-2.0
// GEMM throughput in the BERT shapes of PERFORMANCE.md, as FLOP/s, for every enabled backend:
// forward a·Wᵀ (NT), backward dX = dY·W (NN) and dW = dYᵀ·X (TN); M = tokens, K,N = widths.
#include <benchmark/benchmark.h>

#include <starbucks/starbucks.hpp>
#ifdef STARBUCKS_WITH_EIGEN
#include <starbucks/backend/cpu_eigen/cpu_eigen.hpp>
#endif
#ifdef STARBUCKS_WITH_ONEDNN
#include <starbucks/backend/cpu_onednn/cpu_onednn.hpp>
#endif

namespace {

using namespace starbucks;

enum class layout_kind { nt, nn, tn };

template <class T, class B, layout_kind L>
void BM_gemm(benchmark::State& state) {
    const auto m = static_cast<std::size_t>(state.range(0));
    const auto k = static_cast<std::size_t>(state.range(1));
    const auto n = static_cast<std::size_t>(state.range(2));
    // nt: (m,k)(n,k)ᵀ -> (m,n); nn: (m,k)(k,n); tn: (k,m)ᵀ(k,n).
    // bf16 operands are drawn in f32 and rounded once.
    using draw = std::conditional_t<std::is_same_v<T, bf16>, float, T>;
    auto a = convert<T>(random_uniform<draw, B>(extents<dyn, dyn>(L == layout_kind::tn ? k : m, L == layout_kind::tn ? m : k), rng_stream{1, 0}));
    auto b = convert<T>(random_uniform<draw, B>(extents<dyn, dyn>(L == layout_kind::nt ? n : k, L == layout_kind::nt ? k : n), rng_stream{2, 0}));
    for (auto _ : state) {
        auto c = [&] {
            if constexpr (L == layout_kind::nt) return matmul<false, true>(a, b);
            else if constexpr (L == layout_kind::nn) return matmul<false, false>(a, b);
            else return matmul<true, false>(a, b);
        }();
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(m) * double(n) * double(k), benchmark::Counter::kIsIterationInvariantRate);
}

/// The same forward product with static widths K = 384, N = 1536 (MiniLM's FFN up-projection),
/// to see whether static extents pay.
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

/// Attention-sized batched products: (batch, 128, d)·(batch, 128, d)ᵀ, d = 32 or 64, into a
/// preallocated (batch, 128, 128) output: the kernel alone, without a 50 MB allocation per call.
template <class T, class B>
void BM_gemm_attention(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const auto d = static_cast<std::size_t>(state.range(1));
    auto q = random_uniform<T, B>(extents<dyn, 128, dyn>(batch, d), rng_stream{1, 0});
    auto k = random_uniform<T, B>(extents<dyn, 128, dyn>(batch, d), rng_stream{2, 0});
    tensor<T, extents<dyn, 128, 128>, B> s(batch);
    for (auto _ : state) {
        matmul_into<false, true>(s.view(), as_const_view(q), as_const_view(k), T(1), T(0));
        benchmark::DoNotOptimize(s.data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(batch) * 128.0 * 128.0 * double(d), benchmark::Counter::kIsIterationInvariantRate);
}

/// The same products through `matmul`, which allocates its (batch, 128, 128) output each call:
/// what the autograd does. With the host pool a repeated call reuses the block.
template <class T, class B>
void BM_gemm_attention_alloc(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const auto d = static_cast<std::size_t>(state.range(1));
    auto q = random_uniform<T, B>(extents<dyn, 128, dyn>(batch, d), rng_stream{1, 0});
    auto k = random_uniform<T, B>(extents<dyn, 128, dyn>(batch, d), rng_stream{2, 0});
    for (auto _ : state) {
        auto s = matmul<false, true>(q, k);
        benchmark::DoNotOptimize(s.data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(batch) * 128.0 * 128.0 * double(d), benchmark::Counter::kIsIterationInvariantRate);
}

void bert_shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"M", "K", "N"});
    for (long m : {2048, 8192})
        for (auto [k, n] : {std::pair{768L, 768L}, {768L, 3072L}, {3072L, 768L}, {384L, 384L}, {384L, 1536L}, {1536L, 384L}})
            b->Args({m, k, n});
    b->Unit(benchmark::kMillisecond)->UseRealTime();
}

#define STARBUCKS_GEMM_BENCHMARKS(B, label)                                                                           \
    BENCHMARK(BM_gemm<float, B, layout_kind::nt>)->Name("BM_gemm_nt_" label "_f32")->Apply(bert_shapes);             \
    BENCHMARK(BM_gemm<float, B, layout_kind::nn>)->Name("BM_gemm_nn_" label "_f32")->Apply(bert_shapes);             \
    BENCHMARK(BM_gemm<float, B, layout_kind::tn>)->Name("BM_gemm_tn_" label "_f32")->Apply(bert_shapes);             \
    BENCHMARK(BM_gemm_nt_static<float, B>)->Name("BM_gemm_nt_" label "_f32_static")->ArgNames({"M"})->Arg(2048)      \
        ->Unit(benchmark::kMillisecond)->UseRealTime();                                                               \
    BENCHMARK(BM_gemm_attention<float, B>)->Name("BM_gemm_attention_" label "_f32")->ArgNames({"batch", "d"})        \
        ->Args({768, 32})->Args({768, 64})->Unit(benchmark::kMillisecond)->UseRealTime();                          \
    BENCHMARK(BM_gemm_attention_alloc<float, B>)->Name("BM_gemm_attention_alloc_" label "_f32")                      \
        ->ArgNames({"batch", "d"})->Args({768, 32})->Args({768, 64})->Unit(benchmark::kMillisecond)->UseRealTime();

#ifdef STARBUCKS_WITH_ONEDNN
STARBUCKS_GEMM_BENCHMARKS(backend::cpu_onednn, "onednn")
BENCHMARK(BM_gemm<bf16, backend::cpu_onednn, layout_kind::nt>)->Name("BM_gemm_nt_onednn_bf16")->Apply(bert_shapes);
BENCHMARK(BM_gemm<bf16, backend::cpu_onednn, layout_kind::nn>)->Name("BM_gemm_nn_onednn_bf16")->Apply(bert_shapes);
BENCHMARK(BM_gemm<bf16, backend::cpu_onednn, layout_kind::tn>)->Name("BM_gemm_tn_onednn_bf16")->Apply(bert_shapes);
#endif
#ifdef STARBUCKS_WITH_EIGEN
STARBUCKS_GEMM_BENCHMARKS(backend::cpu_eigen, "eigen")
#endif

// The reference backend is a plain triple loop: one small shape keeps a run short.
BENCHMARK(BM_gemm<float, backend::reference, layout_kind::nt>)->Name("BM_gemm_nt_reference_f32")->ArgNames({"M", "K", "N"})
    ->Args({128, 384, 384})->Unit(benchmark::kMillisecond);

} // namespace
