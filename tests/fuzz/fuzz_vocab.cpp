// SPDX-License-Identifier: Apache-2.0
// Fuzz target: vocab.txt (UTF-8, one token per line, duplicates and special tokens checked), and
// the same bytes as tokenizer.json (strict JSON, BERT WordPiece pipeline only).
#include "fuzz_support.hpp"

#include <starbucks/text/vocab.hpp>
#include <starbucks/text/wordpiece.hpp>

namespace text = starbucks::text;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = starbucks_fuzz::bytes_of(data, size);
    starbucks_fuzz::expect_clean([&] {
        const text::wordpiece tok(text::vocab::from_txt(bytes, "vocab.txt"));
        (void)tok.encode("Hello, world! A small check of the loaded vocabulary.");
    });
    starbucks_fuzz::expect_clean([&] {
        const auto doc = text::detail::parse_json(bytes, "tokenizer.json");
        const auto tok = text::wordpiece::from_tokenizer_json(doc, "tokenizer.json");
        (void)tok.encode("Hello, world!");
    });
    return 0;
}
