// SPDX-License-Identifier: Apache-2.0
// Do compile-time widths pay off on a real model's shapes? One BERT layer's inference forward
// (Q/K/V/output projections, fused attention, layer norms, the GELU FFN) in all-MiniLM-L6-v2's
// widths (384 wide, 12 heads, FFN 1536), written once as a template over the width type and run
// with every width static (`extents<dyn, dyn, 384>`, `extents<1536, 384>`, ...) and with every
// extent dynamic. Same data, same backend, alternating in one run. docs/compile_time.md has the
// measurement and the decision (issue 4 item 1).
//
// Build the TU with -DSTARBUCKS_STATIC_WIDTH_ONLY=1 (static) or =0 (dynamic) to time the
// compilation of one variant alone (benchmarks/compile_time/static_width.sh).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>

#include <starbucks/starbucks.hpp>
#ifdef STARBUCKS_WITH_ONEDNN
#include <starbucks/backend/cpu_onednn/cpu_onednn.hpp>
#endif

namespace {

using namespace starbucks;

constexpr std::size_t hidden = 384, ffn = 1536, heads = 12, texts = 32;

/// The extents of each tensor of the layer: all static widths, or all dynamic.
template <bool Static>
struct widths {
    static constexpr std::size_t h = Static ? hidden : dyn;
    static constexpr std::size_t f = Static ? ffn : dyn;
    using act = extents<dyn, dyn, h>;      // (B, T, 384)
    using inner = extents<dyn, dyn, f>;    // (B, T, 1536)
    using square = extents<h, h>;          // Q, K, V, attention output
    using up = extents<f, h>;              // FFN in
    using down = extents<h, f>;            // FFN out
    using bias_h = extents<h>;
    using bias_f = extents<f>;
};

/// The layer's weights and its input, drawn from fixed streams (identical in both variants).
template <bool Static, class B>
struct layer_case {
    using W = widths<Static>;
    template <class E>
    static tensor<float, E, B> draw(const E& e, std::uint64_t seed) {
        return random_uniform<float, B>(e, rng_stream{seed, 0}, -0.05f, 0.05f);
    }
    explicit layer_case(std::size_t tokens)
        : x(draw(typename W::act(texts, tokens, hidden), 1)), wq(draw(typename W::square(hidden, hidden), 2)),
          wk(draw(typename W::square(hidden, hidden), 3)), wv(draw(typename W::square(hidden, hidden), 4)),
          wo(draw(typename W::square(hidden, hidden), 5)), wi(draw(typename W::up(ffn, hidden), 6)),
          wf(draw(typename W::down(hidden, ffn), 7)), bq(draw(typename W::bias_h(hidden), 8)), bk(draw(typename W::bias_h(hidden), 9)),
          bv(draw(typename W::bias_h(hidden), 10)), bo(draw(typename W::bias_h(hidden), 11)), bi(draw(typename W::bias_f(ffn), 12)),
          bf(draw(typename W::bias_h(hidden), 13)), g1(draw(typename W::bias_h(hidden), 14)), b1(draw(typename W::bias_h(hidden), 15)),
          g2(draw(typename W::bias_h(hidden), 16)), b2(draw(typename W::bias_h(hidden), 17)),
          mask(random_uniform<float, B>(dextents<2>(texts, tokens), rng_stream{18, 0}, -1.0f, 0.0f)) {
        o.heads = heads;
        o.scale = 1.0f / std::sqrt(float(hidden / heads));
    }
    /// BERT's post-norm layer, inference: LN(x + attn·Wo), then LN(h + gelu(h·Wi)·Wf).
    auto forward() const {
        auto q = linear(x, wq, bq);
        auto k = linear(x, wk, bk);
        auto v = linear(x, wv, bv);
        auto a = attention(q, k, v, mask, o);
        auto h = layer_norm(linear_residual(a, wo, bo, x), g1, b1, 1e-12f);
        auto f = linear(h, wi, bi, backend::gemm_activation::gelu);
        return layer_norm(linear_residual(f, wf, bf, h), g2, b2, 1e-12f);
    }
    tensor<float, typename W::act, B> x;
    tensor<float, typename W::square, B> wq, wk, wv, wo;
    tensor<float, typename W::up, B> wi;
    tensor<float, typename W::down, B> wf;
    tensor<float, typename W::bias_h, B> bq, bk, bv, bo;
    tensor<float, typename W::bias_f, B> bi;
    tensor<float, typename W::bias_h, B> bf, g1, b1, g2, b2;
    tensor<float, dextents<2>, B> mask;
    attention_options<float> o;
};

template <bool Static, class B>
void BM_bert_layer_forward(benchmark::State& state) {
    const layer_case<Static, B> c(static_cast<std::size_t>(state.range(0)));
    if constexpr (Static) {
        // Both variants run the same kernels on the same data, so their outputs are the same bits.
        const auto mine = c.forward();
        const auto other = layer_case<false, B>(c.x.extent(1)).forward();
        if (!std::equal(mine.data(), mine.data() + mine.size(), other.data())) {
            state.SkipWithError("static and dynamic widths give different outputs");
            return;
        }
    }
    for (auto _ : state) {
        auto y = c.forward();
        benchmark::DoNotOptimize(y.data());
    }
    // The GEMMs: 4 of 384 x 384 and 2 of 384 x 1536 per token.
    const double flops = 2.0 * double(texts * c.x.extent(1)) * double(4 * hidden * hidden + 2 * hidden * ffn);
    state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

#ifdef STARBUCKS_WITH_ONEDNN
using fast = backend::cpu_onednn;
#else
using fast = backend::reference;
#endif

#if !defined(STARBUCKS_STATIC_WIDTH_ONLY)
// Alternating registrations, so drifting machine load hits both variants alike.
BENCHMARK(BM_bert_layer_forward<true, fast>)->Name("BM_bert_layer_forward/static")->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_bert_layer_forward<false, fast>)->Name("BM_bert_layer_forward/dynamic")->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_bert_layer_forward<true, fast>)->Name("BM_bert_layer_forward/static_again")->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_bert_layer_forward<false, fast>)->Name("BM_bert_layer_forward/dynamic_again")->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond);
#else
BENCHMARK(BM_bert_layer_forward<STARBUCKS_STATIC_WIDTH_ONLY == 1, fast>)->Arg(32);
#endif

} // namespace
