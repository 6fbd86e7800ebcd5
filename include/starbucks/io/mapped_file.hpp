// SPDX-License-Identifier: Apache-2.0
// mapped_file: a file's bytes, read-only, either memory-mapped or (like --no-mmap) read into memory.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <utility>

#include <sys/mman.h>

#include "../core/error.hpp"
#include "detail/posix_file.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io {

/// @brief How readers reach a file's bytes.
///
/// `map` (the default) maps the file read-only: nothing is copied, but truncating the file
/// while it is mapped can raise SIGBUS. `read` copies what is needed into memory instead.
enum class read_mode { map, read };

/// @brief Read-only access to one file's bytes, in either read_mode.
///
/// Represents: the file as it was when opened (`size()` is taken once). In `map` mode every
/// byte is reachable through `bytes()` at once; in `read` mode a range becomes reachable after
/// `load()`, so a reader can validate a header before it allocates for the data.
/// Guarantees: move-only; moving never changes the address of the bytes; loaded bytes sit at
/// the same address modulo 64 as they do in the file, so alignment is the same in both modes.
class mapped_file {
public:
    mapped_file() = default;

    /// @brief Opens `path` (a regular file). @throws io_error naming the path and errno text.
    explicit mapped_file(const std::filesystem::path& path, read_mode mode = read_mode::map)
        : label_(path.string()), path_(path), fd_(detail::open_for_reading(path)) {
        size_ = detail::regular_file_size(fd_, path_);
        if (mode == read_mode::map && size_ > 0) {
            if (size_ > std::numeric_limits<std::size_t>::max())
                throw resource_error(label_, "a file of " + std::to_string(size_) + " bytes does not fit the address space");
            void* p = ::mmap(nullptr, static_cast<std::size_t>(size_), PROT_READ, MAP_PRIVATE, fd_.get(), 0);
            if (p == MAP_FAILED) detail::throw_errno(path_, "cannot map " + std::to_string(size_) + " bytes", errno);
            map_ = static_cast<const std::byte*>(p);
            fd_.reset(); // the mapping keeps the file open
        }
    }

    /// @brief Bytes already in memory (tests, fuzzing, embedded files); `label` names them in errors.
    static mapped_file from_memory(std::span<const std::byte> bytes, std::string label) {
        mapped_file f;
        f.label_ = std::move(label);
        f.path_ = f.label_;
        f.size_ = bytes.size();
        f.allocate(0, bytes.size());
        if (!bytes.empty()) std::memcpy(f.loaded_, bytes.data(), bytes.size());
        return f;
    }

    mapped_file(mapped_file&& o) noexcept { swap(o); }
    mapped_file& operator=(mapped_file&& o) noexcept {
        if (this != &o) {
            mapped_file tmp(std::move(o));
            swap(tmp);
        }
        return *this;
    }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    ~mapped_file() {
        if (map_) ::munmap(const_cast<std::byte*>(map_), static_cast<std::size_t>(size_));
    }

    /// The path as given (or the label of from_memory): how errors name the file.
    const std::string& label() const noexcept { return label_; }
    const std::filesystem::path& path() const noexcept { return path_; }
    std::uint64_t size() const noexcept { return size_; }
    bool is_mapped() const noexcept { return map_ != nullptr; }

    /// @brief Copies bytes [offset, offset + out.size()) into `out`, in either mode, without load().
    /// @throws io_error when the file is shorter than that now.
    void read(std::uint64_t offset, std::span<std::byte> out) const {
        check_range(offset, out.size());
        if (out.empty()) return;
        if (map_) std::memcpy(out.data(), map_ + offset, out.size());
        else if (covers(offset, out.size())) std::memcpy(out.data(), loaded_ + (offset - loaded_offset_), out.size());
        else detail::read_exact(fd_, path_, offset, out);
    }

    /// @brief Makes [offset, offset + length) reachable through bytes(): nothing to do when
    /// mapped; otherwise reads it into memory (replacing any range loaded before).
    /// @throws resource_error when memory runs out, io_error when reading fails.
    void load(std::uint64_t offset, std::uint64_t length) {
        check_range(offset, length);
        if (map_ || covers(offset, length)) return;
        allocate(offset, length);
        detail::read_exact(fd_, path_, offset, std::span(loaded_, static_cast<std::size_t>(length)));
    }

    /// @brief Bytes [offset, offset + length), which must be mapped or loaded.
    /// @throws internal_error otherwise (a reader skipped load()).
    std::span<const std::byte> bytes(std::uint64_t offset, std::uint64_t length) const {
        check_range(offset, length);
        if (map_) return {map_ + offset, static_cast<std::size_t>(length)};
        if (covers(offset, length)) return {loaded_ + (offset - loaded_offset_), static_cast<std::size_t>(length)};
        if (length == 0) return {};
        throw internal_error("starbucks::io::mapped_file::bytes", "bytes [" + std::to_string(offset) + ", " +
                                                                       std::to_string(offset + length) + ") of " + label_ +
                                                                       " were not loaded");
    }

private:
    struct aligned_delete {
        void operator()(std::byte* p) const noexcept { ::operator delete(p, std::align_val_t{64}); }
    };

    void check_range(std::uint64_t offset, std::uint64_t length) const {
        if (offset > size_ || length > size_ - offset)
            throw internal_error("starbucks::io::mapped_file", "range [" + std::to_string(offset) + ", +" +
                                                                   std::to_string(length) + ") outside " + label_ + " of " +
                                                                   std::to_string(size_) + " bytes");
    }
    bool covers(std::uint64_t offset, std::uint64_t length) const noexcept {
        return buffer_ && offset >= loaded_offset_ && length <= loaded_length_ && offset - loaded_offset_ <= loaded_length_ - length;
    }
    /// Room for `length` bytes placed at `offset` modulo 64, as in the file.
    void allocate(std::uint64_t offset, std::uint64_t length) {
        const std::uint64_t shift = offset % 64;
        if (length > std::numeric_limits<std::size_t>::max() - 64)
            throw resource_error(label_, "cannot hold " + std::to_string(length) + " bytes in memory");
        const std::size_t total = static_cast<std::size_t>(length + shift) + 1; // never 0
        void* p = ::operator new(total, std::align_val_t{64}, std::nothrow);
        if (!p) throw resource_error(label_, "cannot allocate " + std::to_string(total) + " bytes to read the file");
        buffer_.reset(static_cast<std::byte*>(p));
        loaded_ = buffer_.get() + shift;
        loaded_offset_ = offset;
        loaded_length_ = length;
    }
    void swap(mapped_file& o) noexcept {
        std::swap(label_, o.label_);
        std::swap(path_, o.path_);
        std::swap(fd_, o.fd_);
        std::swap(size_, o.size_);
        std::swap(map_, o.map_);
        std::swap(buffer_, o.buffer_);
        std::swap(loaded_, o.loaded_);
        std::swap(loaded_offset_, o.loaded_offset_);
        std::swap(loaded_length_, o.loaded_length_);
    }

    std::string label_;
    std::filesystem::path path_;
    detail::unique_fd fd_; // kept open in read mode for load()
    std::uint64_t size_ = 0;
    const std::byte* map_ = nullptr;
    std::unique_ptr<std::byte, aligned_delete> buffer_;
    std::byte* loaded_ = nullptr;
    std::uint64_t loaded_offset_ = 0, loaded_length_ = 0;
};

/// @brief The whole of a small file (a JSON config, a state file) as a string.
/// @throws io_error when it cannot be read; format_error when it exceeds `limit` bytes.
inline std::string read_small_file(const std::filesystem::path& path, std::uint64_t limit) {
    mapped_file file(path, read_mode::read);
    if (file.size() > limit)
        throw format_error(path.string(), "", "has " + std::to_string(file.size()) + " bytes; the limit is " + std::to_string(limit));
    std::string text(static_cast<std::size_t>(file.size()), '\0');
    file.read(0, std::as_writable_bytes(std::span(text.data(), text.size())));
    return text;
}

} // namespace io
STARBUCKS_NAMESPACE_END
