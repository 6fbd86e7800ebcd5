// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a Hugging Face config.json (strict JSON, then the BERT fields and their ranges).
#include "fuzz_support.hpp"

#include <starbucks/io/hf_config.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    starbucks_fuzz::expect_clean([&] { (void)starbucks::io::parse_bert_config(starbucks_fuzz::bytes_of(data, size), "config.json"); });
    return 0;
}
