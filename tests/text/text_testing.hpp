// SPDX-License-Identifier: Apache-2.0
// Helpers for the text/ suites: fixture paths, scratch files, and catching one error.
#pragma once

#include "testing.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include <starbucks/text/vocab.hpp>
#include <starbucks/text/wordpiece.hpp>

namespace starbucks::testing {

#ifndef STARBUCKS_TEXT_FIXTURES
#error "tests/CMakeLists.txt defines STARBUCKS_TEXT_FIXTURES for test_text"
#endif

/// tests/fixtures/tokenizer: vocab.txt, tokenizer.json, golden.tsv.
inline std::filesystem::path text_fixtures() { return STARBUCKS_TEXT_FIXTURES; }

/// A fresh directory under the system temp folder, removed with everything in it.
class scratch_dir {
public:
    scratch_dir() {
        static std::atomic<int> counter{0};
        const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        path_ = std::filesystem::temp_directory_path() /
                ("starbucks_text_" + std::to_string(stamp) + "_" + std::to_string(counter++));
        std::filesystem::create_directories(path_);
    }
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    /// Writes `bytes` to `name` inside the directory and returns its path.
    std::filesystem::path write(const std::string& name, std::string_view bytes) const {
        const auto p = path_ / name;
        std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        return p;
    }
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

/// The error `f` throws, if it throws a starbucks::error of type E.
template <class E, class F>
std::optional<E> caught(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e;
    }
    return std::nullopt;
}

/// Reads a whole fixture file.
inline std::string read_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace starbucks::testing
