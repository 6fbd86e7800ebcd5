// SPDX-License-Identifier: Apache-2.0
// UTF-8 well-formedness (Unicode table 3-7): rejects overlong forms, surrogates and bytes past U+10FFFF.
// Private to io/; include <starbucks/io/safetensors.hpp> instead.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "../../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io::detail {

/// The length of the well-formed sequence starting at s[i], or 0 when none starts there.
constexpr std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) return 1;
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf; // allowed range of the second byte
    if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b == 0xe0) { len = 3; lo = 0xa0; }     // below A0 would be overlong
    else if (b >= 0xe1 && b <= 0xec) len = 3;
    else if (b == 0xed) { len = 3; hi = 0x9f; }     // A0..BF would encode a surrogate
    else if (b == 0xee || b == 0xef) len = 3;
    else if (b == 0xf0) { len = 4; lo = 0x90; }     // below 90 would be overlong
    else if (b >= 0xf1 && b <= 0xf3) len = 4;
    else if (b == 0xf4) { len = 4; hi = 0x8f; }     // above 8F would pass U+10FFFF
    else return 0;
    if (s.size() - i < len) return 0;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 < lo || b1 > hi) return 0;
    for (std::size_t k = 2; k < len; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if (c < 0x80 || c > 0xbf) return 0;
    }
    return len;
}

struct utf8_error {
    std::size_t offset;      ///< of the first byte of the ill-formed sequence
    std::string_view reason; ///< "overlong encoding", "UTF-16 surrogate", ...
};

/// Why no well-formed sequence starts at s[i] (utf8_sequence_length returned 0).
constexpr std::string_view utf8_reason(std::string_view s, std::size_t i) noexcept {
    const auto b = static_cast<unsigned char>(s[i]);
    const int b1 = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : -1;
    if (b == 0xc0 || b == 0xc1) return "overlong encoding";
    if (b >= 0x80 && b <= 0xbf) return "continuation byte without a lead byte";
    if (b >= 0xf5) return "byte never used in UTF-8";
    if (b == 0xe0 && b1 >= 0x80 && b1 < 0xa0) return "overlong encoding";
    if (b == 0xf0 && b1 >= 0x80 && b1 < 0x90) return "overlong encoding";
    if (b == 0xed && b1 >= 0xa0 && b1 <= 0xbf) return "UTF-16 surrogate";
    if (b == 0xf4 && b1 >= 0x90 && b1 <= 0xbf) return "code point beyond U+10FFFF";
    return "truncated sequence";
}

/// The first ill-formed sequence in s, if any.
constexpr std::optional<utf8_error> find_invalid_utf8(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = utf8_sequence_length(s, i);
        if (len == 0) return utf8_error{i, utf8_reason(s, i)};
        i += len;
    }
    return std::nullopt;
}

} // namespace io::detail
STARBUCKS_NAMESPACE_END
