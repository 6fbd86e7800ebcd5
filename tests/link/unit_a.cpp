// SPDX-License-Identifier: Apache-2.0
// Two translation units include everything and use the same templates: the link must succeed.
#include <starbucks/starbucks.hpp>

double unit_b_sum();

int main() {
    starbucks::tensor<double, starbucks::extents<starbucks::dyn, 4>> x(3);
    starbucks::fill(x, 1.0);
    const double a = starbucks::sum(x)();
    return a == 12.0 && unit_b_sum() == 8.0 ? 0 : 1;
}
