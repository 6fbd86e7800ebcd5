// SPDX-License-Identifier: Apache-2.0
// The README's quick-start snippet, compiled and run by the test suite so it cannot rot.
#include <cstdio>

#include <starbucks/starbucks.hpp>

int main() {
    namespace ag = starbucks::autograd;
    using starbucks::dyn, starbucks::extents;

    auto w = ag::parameter(starbucks::random_normal<float>(extents<384, 768>{}, {42, 0}, 0.f, .02f));
    auto x = ag::constant_input(starbucks::random_normal<float>(extents<dyn, 768>(32), {42, 1}));
    ag::tape tape;
    auto on = tape.activate();
    auto h = ag::matmul_nt(x, w);   // (32, 384): static width checked at compile time
    auto small = ag::prefix<64>(h); // (32, 64): a zero-copy Matryoshka prefix
    auto loss = ag::mean(ag::square(small));
    tape.backward({loss}); // w.grad() now holds d loss / d w

    // Only the first 64 output rows of w feed the loss: the rest of its gradient stays zero.
    const bool ok = w.grad()(0, 0) != 0.f && w.grad()(64, 0) == 0.f && w.grad()(383, 767) == 0.f;
    std::printf("loss %.6f, |dw[0,0]| > 0: %s\n", double(loss.value()()), ok ? "yes" : "no");
    return ok ? 0 : 1;
}
