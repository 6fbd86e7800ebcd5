// SPDX-License-Identifier: Apache-2.0
// Every differentiable function of the autograd.
#pragma once

#include "functions/attention.hpp"
#include "functions/copy.hpp"
#include "functions/dropout.hpp"
#include "functions/elementwise.hpp"
#include "functions/gather.hpp"
#include "functions/gemm.hpp"
#include "functions/linear.hpp"
#include "functions/loss.hpp"
#include "functions/norm.hpp"
#include "functions/reduce.hpp"
#include "functions/softmax.hpp"
#include "functions/view.hpp"
