// SPDX-License-Identifier: Apache-2.0
// One layer's fused multi-head attention (ops/attention.hpp) forward and backward in the
// MiniLM-L6 shape (64 texts, 12 heads of 32), with dropout on the probabilities as in training,
// and the dropout kernel alone over the (B, H, T, T) probabilities it draws twice per step.
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

constexpr std::size_t texts = 64, heads = 12, head_size = 32, width = heads * head_size;

/// q, k, v, an upstream gradient and a zero mask for `tokens`, and the options BERT uses.
template <class B>
struct attention_case {
    explicit attention_case(std::size_t tokens)
        : q(random_uniform<float, B>(dextents<3>(texts, tokens, width), rng_stream{1, 0}, -1.0f, 1.0f)),
          k(random_uniform<float, B>(dextents<3>(texts, tokens, width), rng_stream{2, 0}, -1.0f, 1.0f)),
          v(random_uniform<float, B>(dextents<3>(texts, tokens, width), rng_stream{3, 0}, -1.0f, 1.0f)),
          dy(random_uniform<float, B>(dextents<3>(texts, tokens, width), rng_stream{4, 0}, -1.0f, 1.0f)),
          out(dextents<3>(texts, tokens, width)), dq(dextents<3>(texts, tokens, width)), dk(dextents<3>(texts, tokens, width)),
          dv(dextents<3>(texts, tokens, width)), mask(dextents<2>(texts, tokens)) {
        o.heads = heads;
        o.scale = 1.0f / std::sqrt(float(head_size));
        o.dropout_p = 0.1f;
        o.rng = rng_stream{5, 6};
    }
    detail::attention_kernel<float, B> kernel() const {
        return {texts, q.extent(1), width, q.data(), k.data(), v.data(), mask.data(), o};
    }
    /// FLOPs of the products: q·kᵀ and P·v forward; the backward recomputes q·kᵀ and adds four.
    double products(std::size_t count) const {
        const double t = double(q.extent(1));
        return double(count) * 2.0 * double(texts * heads) * t * t * double(head_size);
    }
    tensor<float, dextents<3>, B> q, k, v, dy, out, dq, dk, dv;
    tensor<float, dextents<2>, B> mask;
    attention_options<float> o;
};

template <class B>
void BM_attention_forward(benchmark::State& state) {
    const attention_case<B> c(static_cast<std::size_t>(state.range(0)));
    const auto kernel = c.kernel();
    auto out = c.out;
    for (auto _ : state) {
        kernel.forward(out.data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] = benchmark::Counter(c.products(2), benchmark::Counter::kIsIterationInvariantRate);
}

template <class B>
void BM_attention_backward(benchmark::State& state) {
    attention_case<B> c(static_cast<std::size_t>(state.range(0)));
    const auto kernel = c.kernel();
    for (auto _ : state) {
        kernel.backward(c.dy.data(), c.dq.data(), c.dk.data(), c.dv.data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] = benchmark::Counter(c.products(5), benchmark::Counter::kIsIterationInvariantRate);
}

/// Dropout over the probabilities of one layer, (64, 12, T, T), in place as the fused forward
/// runs it.
template <class B>
void BM_dropout(benchmark::State& state) {
    const auto t = static_cast<std::size_t>(state.range(0));
    const std::size_t n = texts * heads * t * t;
    auto x = random_uniform<float, B>(dextents<1>(n), rng_stream{7, 0}, 0.0f, 1.0f);
    tensor<float, dextents<1>, B> mask(dextents<1>(n), uninitialized);
    for (auto _ : state) {
        B::dropout(B::default_context(), n, 0.1f, rng_stream{8, 9}, x.data(), x.data(), mask.data());
        benchmark::ClobberMemory();
    }
    state.counters["elements/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate);
}

#define STARBUCKS_ATTENTION_BENCHMARKS(B, label)                                                                      \
    BENCHMARK(BM_attention_forward<B>)->Name("BM_attention_forward_" label)->ArgNames({"T"})->Arg(32)->Arg(128)      \
        ->Unit(benchmark::kMillisecond)->UseRealTime();                                                               \
    BENCHMARK(BM_attention_backward<B>)->Name("BM_attention_backward_" label)->ArgNames({"T"})->Arg(32)->Arg(128)    \
        ->Unit(benchmark::kMillisecond)->UseRealTime();                                                               \
    BENCHMARK(BM_dropout<B>)->Name("BM_dropout_" label)->ArgNames({"T"})->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();

#ifdef STARBUCKS_WITH_ONEDNN
STARBUCKS_ATTENTION_BENCHMARKS(backend::cpu_onednn, "onednn")
#endif
#ifdef STARBUCKS_WITH_EIGEN
STARBUCKS_ATTENTION_BENCHMARKS(backend::cpu_eigen, "eigen")
#endif

} // namespace
