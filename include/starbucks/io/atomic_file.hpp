// SPDX-License-Identifier: Apache-2.0
// atomic_file: write a file under a temporary name, fsync it, rename it over the destination and
// fsync the directory, so a reader sees the old file or the complete new one, never a torn one.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/error.hpp"
#include "detail/posix_file.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io {

/// @brief A new version of a file, written under a temporary name in the same directory and
/// committed by rename (RELIABILITY.md: nothing saved is lost).
///
/// Guarantees: until commit() succeeds the destination is untouched; a failure, or destruction
/// without commit(), removes the temporary file. Every failure is an io_error naming the
/// destination and the errno text. Temporary names are `.<name>.tmp-<pid>-<n>-<t>`.
class atomic_file {
public:
    /// @brief Creates the temporary file next to `destination`. @throws io_error.
    explicit atomic_file(std::filesystem::path destination) : destination_(std::move(destination)) {
        const std::filesystem::path name = destination_.filename();
        if (name.empty() || name == "." || name == "..")
            throw io_error(destination_.string(), "not a file name to write");
        directory_ = destination_.parent_path();
        static std::atomic<std::uint64_t> counter{0};
        // O_EXCL makes each attempt safe against other writers; a clash only costs a retry.
        for (int attempt = 0; attempt < 100; ++attempt) {
            const auto stamp = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
            const std::string tmp_name = "." + name.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter.fetch_add(1)) + "-" + std::to_string(stamp % 1000000);
            temp_ = directory_ / tmp_name;
            int fd;
            do fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            while (fd < 0 && errno == EINTR);
            if (fd >= 0) {
                fd_ = detail::unique_fd(fd);
                return;
            }
            if (errno != EEXIST) {
                const int e = errno;
                temp_.clear();
                fail("cannot create a temporary file in " + directory_string(), e);
            }
        }
        temp_.clear();
        fail("cannot find a free temporary name in " + directory_string(), EEXIST);
    }

    atomic_file(atomic_file&& o) noexcept
        : destination_(std::move(o.destination_)), directory_(std::move(o.directory_)), temp_(std::move(o.temp_)),
          fd_(std::move(o.fd_)) {
        o.temp_.clear();
    }
    atomic_file& operator=(atomic_file&&) = delete;
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;

    /// Removes the temporary file unless commit() succeeded.
    ~atomic_file() { discard(); }

    const std::filesystem::path& destination() const noexcept { return destination_; }
    /// The temporary file while writing; empty after commit() or a failure.
    const std::filesystem::path& temp_path() const noexcept { return temp_; }

    /// @brief Appends bytes. @throws io_error (disk full, file too large, ...).
    void write(std::span<const std::byte> bytes) {
        if (!fd_) throw io_error(destination_.string(), "write after commit or failure");
        if (const int e = detail::write_all(fd_, bytes)) fail("cannot write " + temp_.filename().string(), e);
    }
    void write(std::string_view text) { write(std::as_bytes(std::span(text.data(), text.size()))); }

    /// @brief fsync, close, rename over the destination, fsync the directory. @throws io_error.
    /// If only the directory fsync fails, the new file is in place but may not survive a crash.
    void commit() {
        if (!fd_) throw io_error(destination_.string(), "commit after commit or failure");
        if (::fsync(fd_.get()) != 0) fail("cannot fsync " + temp_.filename().string(), errno);
        if (const int e = fd_.close_checked()) fail("cannot close " + temp_.filename().string(), e);
        if (::rename(temp_.c_str(), destination_.c_str()) != 0) fail("cannot rename " + temp_.filename().string() + " over it", errno);
        temp_.clear();
        sync_directory();
    }

private:
    std::string directory_string() const { return directory_.empty() ? "." : directory_.string(); }

    [[noreturn]] void fail(const std::string& action, int e) {
        discard();
        detail::throw_errno(destination_, action, e);
    }
    void discard() noexcept {
        fd_.reset();
        if (!temp_.empty()) ::unlink(temp_.c_str());
        temp_.clear();
    }
    void sync_directory() {
        const std::string dir = directory_string();
        int fd;
        do fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) detail::throw_errno(destination_, "renamed, but cannot open " + dir + " to fsync it", errno);
        detail::unique_fd dir_fd(fd);
        // Some file systems cannot fsync a directory (EINVAL); the rename is then as durable as it gets.
        if (::fsync(dir_fd.get()) != 0 && errno != EINVAL)
            detail::throw_errno(destination_, "renamed, but cannot fsync " + dir, errno);
    }

    std::filesystem::path destination_, directory_, temp_;
    detail::unique_fd fd_;
};

/// @brief Writes `bytes` to `path` atomically (see atomic_file). @throws io_error.
inline void write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes) {
    atomic_file f(path);
    f.write(bytes);
    f.commit();
}

} // namespace io
STARBUCKS_NAMESPACE_END
