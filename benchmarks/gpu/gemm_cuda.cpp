// SPDX-License-Identifier: Apache-2.0
// bench_gemm_cuda: backend::cuda's GEMM in BERT-base shapes (f32 and bf16 operands, with and
// without the bias epilogue), as TFLOP/s and as a fraction of the device's dense bf16
// tensor-core peak (SMs x clock x 4096 FLOP per clock per SM on Hopper). One line per shape.
// Plain C++: the kernels come from the starbucks_cuda_kernels library. Run by
// benchmarks/gpu/run.sh on a GPU machine; it needs one, and says so without.
#include <starbucks/starbucks.hpp>
#include <starbucks/backend/cuda/cuda.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

using namespace starbucks;
namespace cd = backend::cuda_detail;

namespace {

template <class T>
double seconds_per_gemm(backend::cuda::context& s, const backend::gemm_args<T, float>& g, int reps) {
    for (int i = 0; i < 3; ++i) cd::gemm<T, float>(s, g); // warm-up: heuristics, cache
    cd::synchronize(s);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) cd::gemm<T, float>(s, g);
    cd::synchronize(s);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

} // namespace

int main() {
    try {
        auto& s = backend::cuda::default_context();
        const cd::device_info d = cd::info(s);
        const double clock_khz = d.clock_khz;
        const double peak = double(d.multiprocessors) * clock_khz * 1e3 * 4096.0;
        std::printf("device: %s, %d SMs at %.0f MHz; dense bf16 peak %.1f TFLOP/s (SMs x clock x 4096)\n",
                    d.name.c_str(), d.multiprocessors, clock_khz / 1e3, peak / 1e12);
        // BERT-base at batch 32 x 128 tokens: QKV, attention output, FFN up and down.
        struct shape_case { const char* name; std::size_t m, n, k; };
        const shape_case shapes[] = {{"qkv 4096x2304x768", 4096, 2304, 768},
                                     {"out 4096x768x768", 4096, 768, 768},
                                     {"ffn-up 4096x3072x768", 4096, 3072, 768},
                                     {"ffn-down 4096x768x3072", 4096, 768, 3072}};
        std::printf("%-24s %10s %10s %10s %12s\n", "shape", "f32 TF/s", "bf16 TF/s", "bf16+bias", "bf16 / peak");
        for (const auto& c : shapes) {
            const std::size_t na = c.m * c.k, nb = c.k * c.n, nc = c.m * c.n;
            float* a = static_cast<float*>(cd::allocate(s, na * 4));
            float* b = static_cast<float*>(cd::allocate(s, nb * 4));
            float* out = static_cast<float*>(cd::allocate(s, nc * 4));
            float* bias = static_cast<float*>(cd::allocate(s, c.n * 4));
            bf16* a16 = static_cast<bf16*>(cd::allocate(s, na * 2));
            bf16* b16 = static_cast<bf16*>(cd::allocate(s, nb * 2));
            cd::fill_uniform<float>(s, na, rng_stream{1, 0}, -1.0f, 1.0f, a);
            cd::fill_uniform<float>(s, nb, rng_stream{2, 0}, -1.0f, 1.0f, b);
            cd::fill<float>(s, c.n, 0.1f, bias);
            cd::convert<float, bf16>(s, na, a, a16);
            cd::convert<float, bf16>(s, nb, b, b16);
            backend::gemm_args<float> g32;
            g32.m = c.m, g32.n = c.n, g32.k = c.k, g32.a = a, g32.b = b, g32.c = out;
            g32.lda = std::ptrdiff_t(c.k), g32.ldb = std::ptrdiff_t(c.n), g32.ldc = std::ptrdiff_t(c.n);
            backend::gemm_args<bf16, float> g16;
            g16.m = c.m, g16.n = c.n, g16.k = c.k, g16.a = a16, g16.b = b16, g16.c = out;
            g16.lda = g32.lda, g16.ldb = g32.ldb, g16.ldc = g32.ldc;
            auto g16b = g16;
            g16b.epilogue.bias = bias;
            const double flops = 2.0 * double(c.m) * double(c.n) * double(c.k);
            const double t32 = seconds_per_gemm(s, g32, 20), t16 = seconds_per_gemm(s, g16, 50),
                         t16b = seconds_per_gemm(s, g16b, 50);
            std::printf("%-24s %10.1f %10.1f %10.1f %11.1f%%\n", c.name, flops / t32 / 1e12, flops / t16 / 1e12,
                        flops / t16b / 1e12, 100.0 * flops / t16 / peak);
            for (void* p : {static_cast<void*>(a), static_cast<void*>(b), static_cast<void*>(out),
                            static_cast<void*>(bias), static_cast<void*>(a16), static_cast<void*>(b16)})
                cd::deallocate(s, p);
        }
        return 0;
    } catch (const starbucks::error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return exit_code(e.kind());
    }
}
