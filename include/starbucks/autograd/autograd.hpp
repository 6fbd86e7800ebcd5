// SPDX-License-Identifier: Apache-2.0
// The autograd layer: tape, var, no_grad, differentiable functions and gradcheck.
#pragma once

#include "functions.hpp"
#include "grad_mode.hpp"
#include "gradcheck.hpp"
#include "gradient_arena.hpp"
#include "gradient_listener.hpp"
#include "profiler.hpp"
#include "tape.hpp"
#include "var.hpp"
