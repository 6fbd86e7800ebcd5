// SPDX-License-Identifier: Apache-2.0
// UTF-8 for text/: decoding with U+FFFD replacement, encoding, and escaping for messages.
// Private to starbucks/text; include <starbucks/text/vocab.hpp> or <starbucks/text/wordpiece.hpp>.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "../../config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace text::detail {

inline constexpr char32_t replacement_character = 0xFFFD;

/// One decoded code point and the bytes it took.
struct utf8_step {
    char32_t code_point;
    std::size_t size; // >= 1, so a loop over a string always advances
    bool valid;
};

/// @brief Decodes the code point starting at `s[i]` (`i < s.size()`).
///
/// Ill-formed input gives U+FFFD for each *maximal subpart* (Unicode 15, section 3.9): a lead
/// byte followed by continuation bytes that are valid so far, but cut short, is one U+FFFD;
/// any other bad byte is one U+FFFD of its own. This is exactly what Python's
/// `bytes.decode("utf-8", errors="replace")` does, so byte-level input agrees with what HF
/// tokenizers see after Python decoded it. Overlong forms, surrogates and values above
/// U+10FFFF are ill-formed because their second byte is already out of range.
inline utf8_step decode_utf8(std::string_view s, std::size_t i) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) return {b0, 1, true};
    std::size_t trail = 0;
    char32_t cp = 0;
    unsigned char lo = 0x80, hi = 0xBF; // allowed range of the next byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        trail = 1;
        cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        trail = 2;
        cp = b0 & 0x0Fu;
        if (b0 == 0xE0) lo = 0xA0; // overlong
        if (b0 == 0xED) hi = 0x9F; // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        trail = 3;
        cp = b0 & 0x07u;
        if (b0 == 0xF0) lo = 0x90; // overlong
        if (b0 == 0xF4) hi = 0x8F; // above U+10FFFF
    } else {
        return {replacement_character, 1, false}; // continuation byte, C0, C1 or F5..FF
    }
    for (std::size_t k = 1; k <= trail; ++k) {
        if (i + k >= s.size()) return {replacement_character, k, false};
        const auto b = static_cast<unsigned char>(s[i + k]);
        if (b < lo || b > hi) return {replacement_character, k, false};
        cp = (cp << 6) | (b & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    return {cp, trail + 1, true};
}

/// Appends the UTF-8 form of a Unicode scalar value.
inline void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

/// "U+00E9"
inline std::string code_point_name(char32_t c) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string digits;
    for (auto v = static_cast<unsigned long>(c); v != 0 || digits.size() < 4; v >>= 4) digits.insert(digits.begin(), hex[v & 0xF]);
    return "U+" + digits;
}

/// @brief Input text made safe to print: control characters (C0, DEL, C1) and bytes of
/// ill-formed UTF-8 become `\xNN`, `"` and `\` are escaped, and the result is cut after
/// `max_bytes` input bytes, so a file can neither inject terminal sequences nor flood a message.
inline std::string escape(std::string_view s, std::size_t max_bytes = 160) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    const auto put_byte = [&](unsigned char b) {
        out += "\\x";
        out += hex[b >> 4];
        out += hex[b & 0xF];
    };
    std::size_t i = 0;
    while (i < s.size() && i < max_bytes) {
        const utf8_step d = decode_utf8(s, i);
        if (!d.valid) {
            for (std::size_t k = 0; k < d.size; ++k) put_byte(static_cast<unsigned char>(s[i + k]));
        } else if (d.code_point < 0x20 || d.code_point == 0x7F || (d.code_point >= 0x80 && d.code_point < 0xA0)) {
            for (std::size_t k = 0; k < d.size; ++k) put_byte(static_cast<unsigned char>(s[i + k]));
        } else if (d.code_point == '"' || d.code_point == '\\') {
            out += '\\';
            out += static_cast<char>(d.code_point);
        } else {
            out.append(s.substr(i, d.size));
        }
        i += d.size;
    }
    if (i < s.size()) out += "...";
    return out;
}

/// `"text"` quoted and escaped, for the object part of an error.
inline std::string in_quotes(std::string_view s) { return "\"" + escape(s) + "\""; }

} // namespace text::detail
STARBUCKS_NAMESPACE_END
