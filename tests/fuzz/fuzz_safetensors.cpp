// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a safetensors file from memory (header, tensor table, data region), then every
// tensor read as f32 at its own rank, which converts from each stored dtype.
#include "fuzz_support.hpp"

#include <span>

#include <starbucks/io/safetensors.hpp>

namespace sb = starbucks;

namespace {

template <std::size_t R>
void read_as_float(const sb::io::safetensors_file& f, std::string_view name) {
    (void)f.read<float, sb::dextents<R>>(name);
}

void read_tensor(const sb::io::safetensors_file& f, std::string_view name) {
    switch (f.info(name).dims.rank) {
    case 0: read_as_float<0>(f, name); break;
    case 1: read_as_float<1>(f, name); break;
    case 2: read_as_float<2>(f, name); break;
    case 3: read_as_float<3>(f, name); break;
    case 4: read_as_float<4>(f, name); break;
    default: break;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    starbucks_fuzz::expect_clean([&] {
        const auto f = sb::io::safetensors_file::from_memory(std::as_bytes(std::span(data, size)), "fuzz.safetensors");
        for (const auto name : f.names()) starbucks_fuzz::expect_clean([&] { read_tensor(f, name); });
    });
    return 0;
}
