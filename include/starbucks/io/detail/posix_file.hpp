// SPDX-License-Identifier: Apache-2.0
// File descriptors for io/: an owning handle and read/write loops that retry EINTR and turn
// errno into io_error naming the path. Private to io/; include <starbucks/io/mapped_file.hpp>.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io::detail {

/// strerror's text, without its thread-safety problem.
inline std::string errno_text(int e) { return std::generic_category().message(e); }

[[noreturn]] inline void throw_errno(const std::filesystem::path& path, const std::string& action, int e) {
    throw io_error(path.string(), action + ": " + errno_text(e));
}

/// Owns a file descriptor; closes it on destruction (errors there are unreportable and ignored:
/// paths that need the result of close() call close_checked()).
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    void reset() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    /// Closes and returns 0, or the errno of a failed close (which can report a lost write on NFS).
    int close_checked() noexcept {
        const int fd = std::exchange(fd_, -1);
        if (fd < 0) return 0;
        return ::close(fd) == 0 ? 0 : errno;
    }

private:
    int fd_ = -1;
};

/// Opens an existing regular file for reading.
inline unique_fd open_for_reading(const std::filesystem::path& path) {
    int fd;
    do fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) throw_errno(path, "cannot open for reading", errno);
    return unique_fd(fd);
}

/// The size of an open file; anything but a regular file (a directory, a pipe) is refused.
inline std::uint64_t regular_file_size(const unique_fd& fd, const std::filesystem::path& path) {
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno(path, "cannot stat", errno);
    if (!S_ISREG(st.st_mode)) throw io_error(path.string(), "not a regular file");
    return static_cast<std::uint64_t>(st.st_size);
}

/// Reads exactly out.size() bytes at `offset`; a file that ends early is an io_error (it shrank
/// after its size was taken).
inline void read_exact(const unique_fd& fd, const std::filesystem::path& path, std::uint64_t offset,
                       std::span<std::byte> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        // Linux transfers at most 0x7ffff000 bytes per call; asking for less keeps it portable.
        const std::size_t chunk = std::min<std::size_t>(out.size() - done, std::size_t{1} << 30);
        const ::ssize_t n = ::pread(fd.get(), out.data() + done, chunk, static_cast<::off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(path, "cannot read " + std::to_string(out.size()) + " bytes at offset " + std::to_string(offset), errno);
        }
        if (n == 0)
            throw io_error(path.string(), "file ended at byte " + std::to_string(offset + done) + " while reading " +
                                              std::to_string(out.size()) + " bytes at offset " + std::to_string(offset) +
                                              "; was it truncated while open?");
        done += static_cast<std::size_t>(n);
    }
}

/// Writes all of `bytes`; returns 0 or the errno of the failing write.
inline int write_all(const unique_fd& fd, std::span<const std::byte> bytes) noexcept {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const std::size_t chunk = std::min<std::size_t>(bytes.size() - done, std::size_t{1} << 30);
        const ::ssize_t n = ::write(fd.get(), bytes.data() + done, chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO; // no progress on a regular file: never loop forever
        done += static_cast<std::size_t>(n);
    }
    return 0;
}

} // namespace io::detail
STARBUCKS_NAMESPACE_END
