// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the --pairs flag (`2:32,4:64,...`), parsed, validated, checked against a 6x384
// model, and written back: a list that parses must print as a flag that parses to itself.
#include "fuzz_support.hpp"

#include <stdexcept>

#include <starbucks/matryoshka/pairs.hpp>

namespace mt = starbucks::matryoshka;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = starbucks_fuzz::bytes_of(data, size);
    starbucks_fuzz::expect_clean([&] { (void)mt::pair_list::parse_sizes(text); });
    starbucks_fuzz::expect_clean([&] {
        const auto list = mt::pair_list::parse(text);
        const auto again = mt::pair_list::parse(list.to_flag());
        if (again.to_flag() != list.to_flag()) throw std::logic_error("--pairs does not round-trip: " + list.to_flag());
        list.check_fits(6, 384, "--pairs");
    });
    return 0;
}
