// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the WordPiece tokenizer on arbitrary bytes (runtime text is never an error:
// invalid UTF-8 becomes U+FFFD), alone and as a pair, with truncation and padding from byte 0.
#include "fuzz_support.hpp"

#include <cstdlib>
#include <stdexcept>

#include <starbucks/text/wordpiece.hpp>

namespace text = starbucks::text;

namespace {

const text::wordpiece& tokenizer(bool lowercase) {
    static const text::vocab v = text::vocab::load_txt(STARBUCKS_FUZZ_VOCAB);
    static const text::wordpiece cased(v, [] { text::wordpiece_options o; o.normalizer.lowercase = false; return o; }());
    static const text::wordpiece uncased(v);
    return lowercase ? uncased : cased;
}

void check(const text::encoding& e, std::size_t max_length, std::size_t vocab_size) {
    if (max_length != 0 && e.size() > max_length) throw std::logic_error("encoding longer than max_length");
    for (const auto id : e.ids)
        if (static_cast<std::size_t>(id) >= vocab_size) throw std::logic_error("token id outside the vocabulary");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = starbucks_fuzz::split_options(starbucks_fuzz::bytes_of(data, size));
    const auto& tok = tokenizer(in.bit(0));
    text::encode_options o;
    o.max_length = in.bit(1) ? 3 + (in.bits >> 4) : 0; // a pair needs room for its 3 specials
    o.pad = in.bit(2) ? text::padding::max_length : text::padding::none;
    if (o.pad == text::padding::max_length && o.max_length == 0) o.pad = text::padding::none;
    // Runtime text must never raise, not even a starbucks::error.
    check(tok.encode(in.payload, o), o.max_length, tok.vocabulary().size());
    const auto cut = in.payload.find('\t');
    if (cut != std::string_view::npos)
        check(tok.encode(in.payload.substr(0, cut), in.payload.substr(cut + 1), o), o.max_length, tok.vocabulary().size());
    return 0;
}
