// SPDX-License-Identifier: Apache-2.0
// Fuzz target: every dataset reader on the same file (STS TSV/CSV, text pairs and triplets,
// BEIR JSONL or id/text TSV, retrieval training groups, pre-training corpus), with the header,
// delimiter and bad-row options taken from byte 0.
#include "fuzz_support.hpp"

#include <starbucks/data/beir.hpp>
#include <starbucks/data/corpus.hpp>
#include <starbucks/data/retrieval_groups.hpp>
#include <starbucks/data/sts_tsv.hpp>
#include <starbucks/data/text_pairs.hpp>

namespace data = starbucks::data;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data_bytes, std::size_t size) {
    const auto in = starbucks_fuzz::split_options(starbucks_fuzz::bytes_of(data_bytes, size));
    data::read_options o;
    o.header = in.bit(0) ? data::header_mode::detect : (in.bit(1) ? data::header_mode::present : data::header_mode::absent);
    o.delimiter = in.bit(2) ? '\t' : (in.bit(3) ? ',' : '\0');
    o.skip_bad_rows = in.bit(4);
    o.max_bad_fraction = in.bit(5) ? 1.0 : 0.01;
    o.max_line_bytes = in.bit(6) ? 64 : (std::size_t(16) << 20);
    // The name decides BEIR's format detection: .jsonl is JSONL, .tsv detects from line 1.
    const std::string path = starbucks_fuzz::as_file(in.payload, in.bit(7) ? "rows.jsonl" : "rows.tsv");

    starbucks_fuzz::expect_clean([&] {
        data::read_stats s;
        (void)data::read_sts(path, o, s);
    });
    starbucks_fuzz::expect_clean([&] {
        data::read_stats s;
        (void)data::read_pairs(path, o, s);
    });
    starbucks_fuzz::expect_clean([&] {
        data::read_stats s;
        (void)data::read_text_records(path, o, &s);
    });
    starbucks_fuzz::expect_clean([&] {
        data::read_stats s;
        (void)data::read_training_groups(path, o, s);
    });
    starbucks_fuzz::expect_clean([&] {
        data::read_stats s;
        (void)data::read_corpus(path, in.bit(7) ? data::corpus_layout::blocks : data::corpus_layout::lines, o, s);
    });
    return 0;
}
