// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the JSON files of a sentence-transformers folder (modules.json, the Pooling
// module's config.json, sentence_bert_config.json, tokenizer_config.json) from memory. Byte 0
// says which files the folder has (bits 0-3, in that order) and picks the model (bit 4: width 16
// or 384, bit 5: 8 or 512 positions) and the folder's name (bit 6); the rest, split at NUL bytes,
// is the text of each file present, in the same order.
#include "fuzz_support.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <starbucks/io/st_folder.hpp>

namespace {

constexpr std::array<std::string_view, 4> fixed_names = {"modules.json", "", "sentence_bert_config.json", "tokenizer_config.json"};

/// A message or name the caller prints must be one printable line.
void expect_printable(std::string_view s, const char* what) {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            std::fprintf(stderr, "unescaped control byte 0x%02x in %s\n", u, what);
            std::abort();
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = starbucks_fuzz::split_options(starbucks_fuzz::bytes_of(data, size));
    std::array<std::optional<std::string>, 4> files;
    std::string_view rest = in.payload;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (!in.bit(static_cast<int>(i))) continue;
        const std::size_t end = rest.find('\0');
        files[i] = std::string(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    starbucks::nn::bert_config config;
    config.hidden_size = in.bit(4) ? 384 : 16;
    config.max_position_embeddings = in.bit(5) ? 512 : 8;
    const std::string folder = in.bit(6) ? "model\x1b[2J" : "";

    // The Pooling config is whatever modules.json's Pooling module points at.
    const starbucks::io::st_file_source source = [&](const std::filesystem::path& relative) -> std::optional<std::string> {
        const std::string name = relative.string();
        for (std::size_t i = 0; i < files.size(); ++i)
            if (i != 1 && name == fixed_names[i]) return files[i];
        return files[1];
    };
    starbucks_fuzz::expect_clean([&] {
        const starbucks::io::st_folder_defaults d = starbucks::io::parse_st_folder(source, config, folder);
        // What a folder may set: mean or cls, or a problem named for the caller; a length the model holds.
        if (d.pooling && *d.pooling != "mean" && *d.pooling != "cls") std::abort();
        if (d.pooling && !d.pooling_problem.empty()) std::abort();
        if (!d.pooling_problem.empty() && d.pooling_file.empty()) std::abort();
        if (d.max_length && (*d.max_length < 2 || *d.max_length > config.max_position_embeddings)) std::abort();
        expect_printable(d.pooling_file, "pooling_file");
        expect_printable(d.pooling_problem, "pooling_problem");
    });
    return 0;
}
