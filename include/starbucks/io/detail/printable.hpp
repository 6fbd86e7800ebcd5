// SPDX-License-Identifier: Apache-2.0
// Names from files as they appear in error messages: quoted, control bytes escaped, length capped.
// Private to io/; include <starbucks/io/safetensors.hpp> instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "utf8.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io::detail {

inline std::string hex_byte(unsigned char b) {
    constexpr char digits[] = "0123456789abcdef";
    return std::string{'\\', 'x', digits[b >> 4], digits[b & 15]};
}

/// `s` with control bytes (C0, DEL, C1), ill-formed UTF-8 and (when `quotes`) quotes and
/// backslashes written as \xNN, so text from a file cannot inject terminal sequences; cut after
/// `max_shown` bytes.
inline std::string escaped(std::string_view s, std::size_t max_shown = 200, bool quotes = true) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size() && i < max_shown) {
        const auto b = static_cast<unsigned char>(s[i]);
        const std::size_t len = utf8_sequence_length(s, i);
        const bool c1 = len == 2 && b == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0;
        if (len == 0 || c1 || b < 0x20 || b == 0x7f || (quotes && (b == '"' || b == '\\'))) {
            out += hex_byte(b);
            ++i;
        } else {
            out.append(s.substr(i, len));
            i += len;
        }
    }
    if (i < s.size()) out += "...";
    return out;
}

/// `"name"`, escaped; a long name is cut and its length given.
inline std::string quote_text(std::string_view s) {
    constexpr std::size_t max_shown = 200;
    if (s.size() <= max_shown) return '"' + escaped(s, max_shown) + '"';
    return '"' + escaped(s, max_shown) + "\" (" + std::to_string(s.size()) + " bytes)";
}

/// The object part of an error about a tensor: `tensor "encoder.layer.0.output.dense.weight"`.
inline std::string tensor_object(std::string_view name) { return "tensor " + quote_text(name); }

/// "file.safetensors@8+412": a byte offset inside the JSON header, which starts at byte 8.
inline std::string header_where(const std::string& label, std::size_t header_offset) {
    return label + "@8+" + std::to_string(header_offset);
}

} // namespace io::detail
STARBUCKS_NAMESPACE_END
