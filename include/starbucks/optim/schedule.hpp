// SPDX-License-Identifier: Apache-2.0
// optim schedules: the learning rate of step t, linear or cosine decay after a linear warm-up,
// with the same formulas as transformers' get_linear/cosine_schedule_with_warmup.
#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>
#include <string>
#include <string_view>

#include "../config.hpp"
#include "../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace optim {

enum class schedule_kind { constant, linear, cosine };

/// @brief `"constant"`, `"linear"` or `"cosine"`. @throws usage_error listing the choices.
inline schedule_kind parse_schedule(std::string_view name) {
    if (name == "constant") return schedule_kind::constant;
    if (name == "linear") return schedule_kind::linear;
    if (name == "cosine") return schedule_kind::cosine;
    throw usage_error("--schedule", "\"" + std::string(name) + "\" is not a schedule; choose constant, linear or cosine");
}

/// @brief Learning rate as a function of the optimizer step (0-based: the step about to be taken).
///
/// Warm-up: peak · t / warmup for t < warmup. Then linear: peak · (total − t) / (total − warmup),
/// or cosine: peak · ½(1 + cos(π · (t − warmup) / (total − warmup))); constant keeps the peak.
/// Never negative; the last step of a linear schedule uses peak / (total − warmup).
struct schedule {
    double peak = 5e-5;
    std::size_t warmup = 0;
    std::size_t total = 1;
    schedule_kind kind = schedule_kind::linear;

    double operator()(std::size_t t) const noexcept {
        if (t < warmup) return peak * double(t) / double(warmup);
        if (kind == schedule_kind::constant || total <= warmup) return peak;
        const double progress = double(t - warmup) / double(total - warmup);
        if (kind == schedule_kind::linear) return peak * std::max(0.0, 1.0 - progress);
        return peak * std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
    }
};

} // namespace optim
STARBUCKS_NAMESPACE_END
