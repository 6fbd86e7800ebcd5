// SPDX-License-Identifier: Apache-2.0
#include <starbucks/starbucks.hpp>

double unit_b_sum() {
    starbucks::tensor<double, starbucks::extents<starbucks::dyn, 4>> x(2);
    starbucks::fill(x, 1.0);
    return starbucks::sum(x)();
}
