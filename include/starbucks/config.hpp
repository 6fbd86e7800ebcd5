// SPDX-License-Identifier: Apache-2.0
// Reads the -D switches and opens the ABI-tagged namespace every header lives in.
#pragma once

#include "version.hpp"

// STARBUCKS_ENABLE_CHECKS adds per-element checks (finite values, index ranges inside kernels).
// It changes generated code, so it is part of the ABI tag: units built with and without it
// fail to link together instead of silently violating the ODR.
#ifndef STARBUCKS_ENABLE_CHECKS
#define STARBUCKS_ENABLE_CHECKS 0
#endif

#if STARBUCKS_ENABLE_CHECKS
#define STARBUCKS_ABI v0_1_checks
#else
#define STARBUCKS_ABI v0_1
#endif

#define STARBUCKS_NAMESPACE_BEGIN \
    namespace starbucks {         \
    inline namespace STARBUCKS_ABI {
#define STARBUCKS_NAMESPACE_END \
    }                           \
    }
