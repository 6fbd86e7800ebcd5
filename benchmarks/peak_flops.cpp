// SPDX-License-Identifier: Apache-2.0
// The machine's FP32 and BF16 peak, probed: independent FMA chains that keep every FMA unit busy.
// Every "% of peak" in docs/performance.md divides by these figures from the same run.
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <thread>
#include <vector>

namespace {

constexpr int chains = 12; // independent accumulators hide the FMA latency (4 cycles x 2 ports + margin)

/// Sum of the 16 lanes (stored, not _mm512_reduce_add_ps: gcc 12 warns inside that intrinsic).
__attribute__((target("avx512f"))) double lane_sum(__m512 v) {
    alignas(64) float out[16];
    _mm512_store_ps(out, v);
    double s = 0;
    for (float x : out) s += x;
    return s;
}

// noinline + an opaque multiplier: the chains must really run on every call.
__attribute__((target("avx512f"), noinline)) double fma_avx512(long iterations, float scale) {
    __m512 acc[chains];
    for (int i = 0; i < chains; ++i) acc[i] = _mm512_set1_ps(float(i));
    const __m512 a = _mm512_set1_ps(scale), b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iterations; ++it)
        for (int i = 0; i < chains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 s = acc[0];
    for (int i = 1; i < chains; ++i) s = _mm512_add_ps(s, acc[i]);
    return lane_sum(s);
}

__attribute__((target("avx2,fma"), noinline)) double fma_avx2(long iterations, float scale) {
    __m256 acc[chains];
    for (int i = 0; i < chains; ++i) acc[i] = _mm256_set1_ps(float(i));
    const __m256 a = _mm256_set1_ps(scale), b = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iterations; ++it)
        for (int i = 0; i < chains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float out[8];
    __m256 s = acc[0];
    for (int i = 1; i < chains; ++i) s = _mm256_add_ps(s, acc[i]);
    _mm256_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx512f,avx512bf16"), noinline)) double dpbf16(long iterations, short bits) {
    __m512 acc[chains];
    for (int i = 0; i < chains; ++i) acc[i] = _mm512_set1_ps(float(i));
    const __m512bh a = (__m512bh)_mm512_set1_epi16(bits), b = (__m512bh)_mm512_set1_epi16(0x3380);
    for (long it = 0; it < iterations; ++it)
        for (int i = 0; i < chains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    __m512 s = acc[0];
    for (int i = 1; i < chains; ++i) s = _mm512_add_ps(s, acc[i]);
    return lane_sum(s);
}

constexpr long iterations = 1 << 20;

/// Runs `kernel` on `threads` threads at once (our own threads, so FLOP/s is plain total work
/// over wall time).
template <class F>
void run_on_threads(int threads, F kernel) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(kernel);
    for (auto& t : pool) t.join();
}

void BM_peak_fp32(benchmark::State& state) {
    const bool avx512 = __builtin_cpu_supports("avx512f");
    if (!avx512 && !__builtin_cpu_supports("fma")) {
        state.SkipWithError("no FMA");
        return;
    }
    const int threads = static_cast<int>(state.range(0));
    float scale = 0.999999f;
    for (auto _ : state) {
        benchmark::DoNotOptimize(scale);
        run_on_threads(threads, [&] {
            benchmark::DoNotOptimize(avx512 ? fma_avx512(iterations, scale) : fma_avx2(iterations, scale));
        });
    }
    const double lanes = avx512 ? 16 : 8;
    state.SetLabel(avx512 ? "avx512 fma" : "avx2 fma");
    state.counters["FLOP/s"] = benchmark::Counter(2.0 * lanes * chains * double(iterations) * threads,
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

void BM_peak_bf16(benchmark::State& state) {
    if (!__builtin_cpu_supports("avx512bf16")) {
        state.SkipWithError("no AVX512-BF16");
        return;
    }
    const int threads = static_cast<int>(state.range(0));
    short one = 0x3f80; // bf16 1.0
    for (auto _ : state) {
        benchmark::DoNotOptimize(one);
        run_on_threads(threads, [&] { benchmark::DoNotOptimize(dpbf16(iterations, one)); });
    }
    state.SetLabel("vdpbf16ps");
    // Each vdpbf16ps does 32 bf16 multiply-adds (2 per f32 lane).
    state.counters["FLOP/s"] = benchmark::Counter(2.0 * 32 * chains * double(iterations) * threads,
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_peak_fp32)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_peak_bf16)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();

} // namespace
