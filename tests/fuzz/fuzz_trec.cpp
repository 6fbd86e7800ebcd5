// SPDX-License-Identifier: Apache-2.0
// Fuzz target: TREC and BEIR qrels, and TREC runs, from the same file; a run that reads is then
// scored against qrels that read, which exercises the ranking metrics on arbitrary ids and scores.
#include "fuzz_support.hpp"

#include <optional>

#include <starbucks/data/trec.hpp>
#include <starbucks/eval/metrics.hpp>

namespace data = starbucks::data;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data_bytes, std::size_t size) {
    const std::string path = starbucks_fuzz::as_file(starbucks_fuzz::bytes_of(data_bytes, size), "trec.txt");
    std::optional<data::qrels> q;
    std::optional<data::run> r;
    starbucks_fuzz::expect_clean([&] { q = data::read_qrels(path); });
    starbucks_fuzz::expect_clean([&] { r = data::read_run(path); });
    if (q && r) starbucks_fuzz::expect_clean([&] { (void)starbucks::eval::evaluate_run(*r, *q); });
    return 0;
}
