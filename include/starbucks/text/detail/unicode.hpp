// SPDX-License-Identifier: Apache-2.0
// The Unicode properties the BERT normalizer and pre-tokenizer ask about, answered by utf8proc.
// Private to starbucks/text; include <starbucks/text/wordpiece.hpp>.
#pragma once

#ifndef STARBUCKS_WITH_TEXT
#error "starbucks/text needs utf8proc: enable STARBUCKS_WITH_TEXT and link starbucks::text"
#endif

#include <cstddef>

#include <utf8proc.h>

#include "../../config.hpp"

// Every answer comes from utf8proc's tables (Unicode 15 for utf8proc 2.8). HF tokenizers takes
// general categories from the `unicode_categories` crate, frozen at Unicode 9, so code points
// assigned or recategorised since then can be classified differently. Probing every code point
// against tokenizers 0.23 finds 624, all in that class: Mn marks of newer scripts or additions
// (U+0898..U+089F, U+0D00, ...), newer P* punctuation (U+2E43..U+2E5D, U+061D, ...), newer Cf
// (U+0890, U+0891, U+13430..U+1343F), U+166D (Po, now So) and U+1734 (Mn, now Mc). With those
// removed, 20,000 random strings over all of Unicode tokenize identically.

STARBUCKS_NAMESPACE_BEGIN
namespace text::detail {

inline utf8proc_category_t category(char32_t c) noexcept {
    return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

/// The White_Space property, which Rust's `char::is_whitespace` tests: Zs, Zl, Zp, and the
/// five ASCII controls TAB..CR plus NEL (the only White_Space code points outside Z*). Both
/// BERT's cleanup and its pre-tokenizer use it; TAB, LF and CR are already in it.
inline bool is_white_space(char32_t c) noexcept {
    if ((c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85) return true;
    if (c < 0x80) return false;
    const auto k = category(c);
    return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

/// BERT's "control": categories Cc, Cf and Co, but not TAB, LF and CR (whitespace to BERT).
/// Unassigned code points (Cn) are not controls, as in HF.
inline bool is_bert_control(char32_t c) noexcept {
    if (c == '\t' || c == '\n' || c == '\r') return false;
    if (c >= 0x20 && c < 0x7F) return false;
    const auto k = category(c);
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CO;
}

/// BERT's punctuation: the four ASCII punctuation runs (which include symbols like `$`, `+`,
/// `^` and the backquote) or any Unicode P* category.
inline bool is_bert_punctuation(char32_t c) noexcept {
    if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    switch (category(c)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: return true;
    default: return false;
    }
}

inline bool is_nonspacing_mark(char32_t c) noexcept { return c >= 0x300 && category(c) == UTF8PROC_CATEGORY_MN; }

/// @brief The CJK ideograph blocks that get spaces around them, exactly HF tokenizers' list.
/// HF's fifth range starts at U+2B920, not at U+2B820 as Extension E (and the original BERT
/// code) does, so U+2B820..U+2B91F stay inside words here too.
inline bool is_cjk_ideograph(char32_t c) noexcept {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

inline int combining_class(char32_t c) noexcept {
    if (c < 0x300) return 0;
    return utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class;
}

/// Longest full canonical decomposition in Unicode is 4 code points; room for growth.
inline constexpr std::size_t max_decomposition = 8;

/// @brief The full canonical decomposition of `c` (Hangul syllables included) into `out`;
/// returns its length. Canonical reordering of the marks is the caller's job.
inline std::size_t canonical_decomposition(char32_t c, char32_t (&out)[max_decomposition]) noexcept {
    if (c < 0xC0) {
        out[0] = c;
        return 1;
    }
    utf8proc_int32_t buf[max_decomposition];
    int boundclass = 0; // only read with UTF8PROC_CHARBOUND
    const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, max_decomposition,
                                                       UTF8PROC_DECOMPOSE, &boundclass);
    if (n <= 0 || static_cast<std::size_t>(n) > max_decomposition) { // cannot happen for a scalar value
        out[0] = c;
        return 1;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) out[i] = static_cast<char32_t>(buf[i]);
    return static_cast<std::size_t>(n);
}

/// @brief Full lower-case mapping of one code point, as Rust's `char::to_lowercase` (which HF's
/// lowercase normalizer applies per code point, so final sigma is always `σ`) and Python's
/// `str.lower()` give it. utf8proc has the simple mappings; the only unconditional special
/// casing to lower case is U+0130 → `i` U+0307.
inline std::size_t to_lower(char32_t c, char32_t (&out)[2]) noexcept {
    if (c < 0x80) {
        out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        return 1;
    }
    if (c == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
    return 1;
}

} // namespace text::detail
STARBUCKS_NAMESPACE_END
