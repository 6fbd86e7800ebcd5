// SPDX-License-Identifier: Apache-2.0
// Uses the installed library: a tiny differentiable computation through the umbrella header.
#include <cstdio>

#include <starbucks/starbucks.hpp>

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
    return x.grad()(1, 3) == 1.0 ? 0 : 1;
}
