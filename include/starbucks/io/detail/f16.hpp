// SPDX-License-Identifier: Apache-2.0
// IEEE 754 binary16 to binary32, exact for every input (subnormals, infinities, NaN payloads).
// Private to io/; include <starbucks/io/safetensors.hpp> instead.
#pragma once

#include <bit>
#include <cstdint>

#include "../../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io::detail {

/// @brief The float with the value of the binary16 `h`: sign, 5-bit exponent (bias 15), 10-bit
/// fraction. Every binary16 value is exactly representable in binary32.
constexpr float f16_to_float(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h >> 15) << 31;
    const std::uint32_t exponent = (h >> 10) & 0x1fu;
    const std::uint32_t fraction = h & 0x3ffu;
    if (exponent == 0) {
        // Zero or subnormal: fraction * 2^-24. The product is exact (an integer below 2^10
        // scaled by a power of two) and a normal float, so no bit fiddling is needed.
        const float magnitude = static_cast<float>(fraction) * 0x1p-24f;
        return std::bit_cast<float>(std::bit_cast<std::uint32_t>(magnitude) | sign);
    }
    if (exponent == 31) {
        // Infinity, or NaN with its payload moved to the top of the wider fraction; the quiet
        // bit is set as the F16C and Arm conversion instructions do.
        const std::uint32_t nan_bits = fraction ? (0x00400000u | (fraction << 13)) : 0u;
        return std::bit_cast<float>(sign | 0x7f800000u | nan_bits);
    }
    // Normal: rebias the exponent from 15 to 127 and widen the fraction.
    return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (fraction << 13));
}

} // namespace io::detail
STARBUCKS_NAMESPACE_END
