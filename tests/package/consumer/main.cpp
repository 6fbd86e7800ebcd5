// SPDX-License-Identifier: Apache-2.0
// Uses the packaged library: a tiny differentiable computation through the umbrella header and,
// when the consumer linked starbucks::cpu_onednn, one GEMM on that backend against the reference.
#include <cmath>
#include <cstdio>

#include <starbucks/starbucks.hpp>
#if defined(STARBUCKS_WITH_ONEDNN)
#include <starbucks/backend/cpu_onednn/cpu_onednn.hpp>
#endif

int main() {
    using namespace starbucks;
    auto x = autograd::parameter(full<double>(extents<dyn, 4>(2), 0.5));
    autograd::tape tape;
    {
        auto on = tape.activate();
        auto loss = autograd::sum(autograd::square(x));
        tape.backward({loss});
    }
    std::printf("starbucks %s: d/dx sum(x^2) at 0.5 = %g\n", STARBUCKS_VERSION_STRING, x.grad()(0, 0));
    bool ok = x.grad()(1, 3) == 1.0;
#if defined(STARBUCKS_WITH_ONEDNN)
    auto a = random_uniform<float, backend::cpu_onednn>(extents<dyn, dyn>(3, 5), rng_stream{1, 0}, -1.f, 1.f);
    auto b = random_uniform<float, backend::cpu_onednn>(extents<dyn, dyn>(5, 2), rng_stream{2, 0}, -1.f, 1.f);
    auto ra = random_uniform<float>(extents<dyn, dyn>(3, 5), rng_stream{1, 0}, -1.f, 1.f);
    auto rb = random_uniform<float>(extents<dyn, dyn>(5, 2), rng_stream{2, 0}, -1.f, 1.f);
    auto c = matmul(a, b);
    auto rc = matmul(ra, rb);
    const double diff = std::fabs(double(c(2, 1)) - double(rc(2, 1)));
    std::printf("cpu_onednn gemm: c[2,1] = %g (reference %g)\n", double(c(2, 1)), double(rc(2, 1)));
    ok = ok && diff < 1e-5;
#endif
    return ok ? 0 : 1;
}
