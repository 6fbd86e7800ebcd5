// SPDX-License-Identifier: Apache-2.0
// What every libFuzzer target shares: the input as bytes or as a file (the dataset readers take
// paths), and the rule that bad input may only end in a starbucks::error with a printable message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

#include <starbucks/core/error.hpp>

namespace starbucks_fuzz {

inline std::string_view bytes_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/// The first input byte as a choice of options; the rest is the payload.
struct option_byte {
    std::uint8_t bits = 0;
    std::string_view payload;
    bool bit(int i) const { return ((bits >> i) & 1U) != 0; }
};

inline option_byte split_options(std::string_view input) {
    if (input.empty()) return {};
    return {static_cast<std::uint8_t>(input.front()), input.substr(1)};
}

/// A private folder for this process, removed at exit (libFuzzer exits through exit()).
class scratch_folder {
public:
    scratch_folder() {
        path_ = std::filesystem::temp_directory_path() / ("starbucks-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(path_);
    }
    ~scratch_folder() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    scratch_folder(const scratch_folder&) = delete;
    scratch_folder& operator=(const scratch_folder&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

/// @brief Writes `bytes` to `name` in the process's scratch folder and returns its path.
inline std::string as_file(std::string_view bytes, const std::string& name) {
    static scratch_folder folder;
    const auto path = folder.path() / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
        std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
        std::abort();
    }
    return path.string();
}

/// A message is one printable line: input bytes that reach it must have been escaped.
inline void check_message(const starbucks::error& e) {
    for (const char c : std::string_view(e.what())) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            std::fprintf(stderr, "unescaped control byte 0x%02x in error message: %s\n", u, e.what());
            std::abort();
        }
    }
}

/// @brief Runs `f`; a starbucks::error with a printable message is the accepted end of bad input.
/// Anything else (another exception, a crash, a sanitizer report, a hang) is a finding.
template <class F>
void expect_clean(F&& f) {
    try {
        f();
    } catch (const starbucks::error& e) {
        check_message(e);
    }
}

} // namespace starbucks_fuzz
