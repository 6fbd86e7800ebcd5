// SPDX-License-Identifier: Apache-2.0
// P9 (PERFORMANCE.md): scoring every width of one layer from one pass over the coordinates
// (each dim continues the previous one's sums, eval::detail::score_block) against scoring the
// full width alone. 64 queries × 5,000 documents (SciFact's corpus size), width 384, depth 1000,
// dot and cosine; the widths of the default grid (32, 64, 128, 256, 384). Compare the
// "all_widths" time with the "full_width" time of the same similarity: P9 asks ≤ 1.2×.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <starbucks/eval/retrieval.hpp>

namespace {

using namespace starbucks;

constexpr std::size_t queries = 64, documents = 5000, width = 384, layer = 6;

void score(benchmark::State& state, const std::vector<std::size_t>& dims, eval::similarity sim) {
    std::vector<matryoshka::size_pair> sizes;
    for (std::size_t d : dims) sizes.push_back({layer, d});
    const auto plan = eval::detail::make_plan(sizes, layer, width, "bench");
    std::mt19937 gen(7);
    std::normal_distribution<float> normal;
    std::vector<std::vector<float>> q_vec(1, std::vector<float>(queries * width));
    std::vector<float> d_vec(documents * width);
    for (auto& x : q_vec[0]) x = normal(gen);
    for (auto& x : d_vec) x = normal(gen);
    const std::vector<const float*> d{d_vec.data()};
    eval::retrieval_options o;
    o.score = sim;
    eval::search_result out;
    out.sizes = sizes;
    for (std::size_t q = 0; q < queries; ++q) out.query_ids.push_back("q" + std::to_string(q));
    for (std::size_t i = 0; i < documents; ++i) out.doc_ids.push_back("d" + std::to_string(i));
    for (auto _ : state) {
        out.hits.assign(sizes.size(), std::vector<std::vector<eval::hit>>(queries));
        eval::detail::score_block(out, plan, q_vec, d, 0, documents, width, o, "bench");
        benchmark::DoNotOptimize(out.hits.data());
    }
    state.counters["pairs_per_s"] = benchmark::Counter(double(queries * documents), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["widths"] = double(dims.size());
}

const std::vector<std::size_t> all_widths{32, 64, 128, 256, 384}, full_width{384};

void BM_dot_full_width(benchmark::State& s) { score(s, full_width, eval::similarity::dot); }
void BM_dot_all_widths(benchmark::State& s) { score(s, all_widths, eval::similarity::dot); }
void BM_cosine_full_width(benchmark::State& s) { score(s, full_width, eval::similarity::cosine); }
void BM_cosine_all_widths(benchmark::State& s) { score(s, all_widths, eval::similarity::cosine); }

BENCHMARK(BM_dot_full_width)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_dot_all_widths)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_cosine_full_width)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_cosine_all_widths)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
