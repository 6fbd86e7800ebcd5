// SPDX-License-Identifier: Apache-2.0
// safetensors_file: a validated safetensors file; tensors read by name into tensors or zero-copy views.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../backend/reference/reference.hpp"
#include "../core/error.hpp"
#include "../core/extents.hpp"
#include "../tensor/tensor.hpp"
#include "../tensor/view.hpp"
#include "detail/decode.hpp"
#include "detail/printable.hpp"
#include "detail/safetensors_header.hpp"
#include "mapped_file.hpp"
#include "tensor_info.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io {

/// @brief A safetensors file whose header passed every check of RELIABILITY.md section 3.
///
/// Represents: the tensors a file holds, in header order, and its `__metadata__`.
/// Guarantees: construction validates the whole header and byte layout before anything is
/// allocated for the data, and throws format_error / unsupported_error (or io_error when the
/// file cannot be read) naming `<path>@<offset>`, the tensor or key, and the rule. Views and
/// raw bytes point into this object's storage: they stay valid while it lives (moves included).
class safetensors_file {
public:
    /// @brief Opens and validates `path`; `read_mode::read` copies the data instead of mapping it.
    explicit safetensors_file(const std::filesystem::path& path, read_mode mode = read_mode::map)
        : safetensors_file(mapped_file(path, mode)) {}

    /// @brief Validates a file's bytes already in memory; `label` names them in errors.
    static safetensors_file from_memory(std::span<const std::byte> bytes, std::string label = "<memory>") {
        return safetensors_file(mapped_file::from_memory(bytes, std::move(label)));
    }

    /// @brief Validates an opened file.
    explicit safetensors_file(mapped_file file) : file_(std::move(file)) {
        const std::string& label = file_.label();
        std::array<std::byte, 9> first{};
        const auto prefix = std::span(first).first(static_cast<std::size_t>(std::min<std::uint64_t>(first.size(), file_.size())));
        file_.read(0, prefix);
        header_size_ = detail::check_prefix(prefix, file_.size(), label);

        detail::parsed_header parsed;
        if (file_.is_mapped()) {
            const auto h = file_.bytes(8, header_size_);
            parsed = detail::parse_header(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()), file_.size(), label);
        } else {
            std::string h(static_cast<std::size_t>(header_size_), '\0'); // N passed the 10^8 cap
            file_.read(8, std::as_writable_bytes(std::span(h.data(), h.size())));
            parsed = detail::parse_header(h, file_.size(), label);
        }
        tensors_ = std::move(parsed.tensors);
        metadata_ = std::move(parsed.metadata);
        // Only now, with the layout proven to match the file size, is the data read (read mode).
        file_.load(data_offset(), file_.size() - data_offset());
        index_.reserve(tensors_.size());
        for (std::size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
    }

    safetensors_file(safetensors_file&&) noexcept = default;
    safetensors_file& operator=(safetensors_file&&) noexcept = default;
    safetensors_file(const safetensors_file&) = delete; // index_ points into tensors_
    safetensors_file& operator=(const safetensors_file&) = delete;

    /// How errors name the file: the path as given.
    const std::string& label() const noexcept { return file_.label(); }
    const std::filesystem::path& path() const noexcept { return file_.path(); }
    bool is_mapped() const noexcept { return file_.is_mapped(); }
    std::uint64_t file_size() const noexcept { return file_.size(); }
    /// N, the JSON header's length in bytes.
    std::uint64_t header_size() const noexcept { return header_size_; }
    /// Where the data section starts in the file: 8 + N.
    std::uint64_t data_offset() const noexcept { return 8 + header_size_; }

    /// @brief The data section: every tensor's bytes, mapped or read, from file byte 8 + N to the end.
    std::span<const std::byte> data() const { return file_.bytes(data_offset(), file_.size() - data_offset()); }

    /// Every tensor, in header order.
    const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }
    /// Tensor names in header order.
    std::vector<std::string_view> names() const {
        std::vector<std::string_view> out;
        out.reserve(tensors_.size());
        for (const tensor_info& t : tensors_) out.emplace_back(t.name);
        return out;
    }
    std::size_t tensor_count() const noexcept { return tensors_.size(); }
    bool contains(std::string_view name) const { return index_.find(name) != index_.end(); }
    /// The tensor called `name`, or nullptr.
    const tensor_info* find(std::string_view name) const {
        const auto it = index_.find(name);
        return it == index_.end() ? nullptr : &tensors_[it->second];
    }
    /// @brief The tensor called `name`. @throws model_error when the file has none.
    const tensor_info& info(std::string_view name) const {
        if (const tensor_info* t = find(name)) return *t;
        throw model_error(label(), detail::tensor_object(name),
                          "missing: the file has no such tensor (it holds " + std::to_string(tensors_.size()) + ")");
    }
    /// `__metadata__`, string to string (empty when the file has none).
    const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

    /// @brief The stored bytes of `name` (little-endian, row-major, possibly unaligned).
    /// @throws model_error when missing.
    std::span<const std::byte> raw_bytes(std::string_view name) const { return bytes_of(info(name)); }

    /// @brief Reads `name` into a new tensor of T, converting where no information is lost:
    /// exact, BF16/F16/F32 to float or double, smaller integers and BOOL to larger integers.
    /// Static extents of E must match the stored shape; dynamic ones take it.
    /// @throws model_error when missing, not convertible to T, or of another shape;
    /// format_error for a BOOL byte other than 0 or 1.
    template <element T, extents_type E>
    tensor<T, E, backend::reference> read(std::string_view name) const {
        return read_checked<T, E>(name, nullptr);
    }
    /// @brief As above, and every extent must equal `expected` (shapes from config.json).
    template <element T, extents_type E>
    tensor<T, E, backend::reference> read(std::string_view name, const E& expected) const {
        return read_checked<T, E>(name, &expected);
    }

    /// @brief A zero-copy view of `name` into the file's bytes, when they hold exactly T and are
    /// aligned for it. @throws model_error as read(); unsupported_error when the data would need a
    /// conversion or is unaligned (then read(), which copies, works).
    template <element T, extents_type E>
    tensor_view<const T, E, backend::reference> view(std::string_view name) const {
        return view_checked<T, E>(name, nullptr);
    }
    template <element T, extents_type E>
    tensor_view<const T, E, backend::reference> view(std::string_view name, const E& expected) const {
        return view_checked<T, E>(name, &expected);
    }

private:
    std::span<const std::byte> bytes_of(const tensor_info& t) const { return file_.bytes(data_offset() + t.begin, t.byte_size()); }

    template <class T>
    void check_convertible(const tensor_info& t) const {
        if (!detail::can_decode<std::remove_const_t<T>>(t.dtype))
            throw model_error(label(), detail::tensor_object(t.name),
                              "is " + std::string(to_string(t.dtype)) + ", which does not convert to " +
                                  std::string(to_string(dtype_of<T>())) + " without loss");
    }

    template <extents_type E>
    E checked_extents(const tensor_info& t, const E* expected) const {
        bool ok = t.dims.rank == E::rank();
        std::string want = "(";
        for (std::size_t i = 0; i < E::rank(); ++i) {
            const std::size_t w = expected ? expected->extent(i) : E::static_extent(i);
            want += (i ? ", " : "") + (w == dyn ? std::string("?") : std::to_string(w));
            if (ok && w != dyn && w != t.dims[i]) ok = false;
        }
        want += ")";
        if (!ok) throw model_error(label(), detail::tensor_object(t.name), "has " + to_string(t.dims) + ", expected " + want);
        return E(t.dims);
    }

    template <class T, class E>
    tensor<T, E, backend::reference> read_checked(std::string_view name, const E* expected) const {
        const tensor_info& t = info(name);
        check_convertible<T>(t);
        tensor<T, E, backend::reference> out(checked_extents<E>(t, expected), uninitialized);
        if (const auto bad = detail::decode<T>(t.dtype, bytes_of(t), out.data()))
            throw format_error(label() + "@" + std::to_string(data_offset() + t.begin + *bad), detail::tensor_object(t.name),
                               "BOOL element " + std::to_string(*bad) + " is " +
                                   std::to_string(std::to_integer<unsigned>(bytes_of(t)[*bad])) + ", not 0 or 1");
        return out;
    }

    template <class T, class E>
    tensor_view<const T, E, backend::reference> view_checked(std::string_view name, const E* expected) const {
        const tensor_info& t = info(name);
        check_convertible<T>(t);
        const std::string where = label() + "@" + std::to_string(data_offset() + t.begin);
        if (t.dtype != safetensors_dtype_of<T>())
            throw unsupported_error(where, detail::tensor_object(t.name),
                                    "is " + std::string(to_string(t.dtype)) + "; a view of " + std::string(to_string(dtype_of<T>())) +
                                        " would need a conversion; use read(), which converts");
        const E ext = checked_extents<E>(t, expected);
        const std::span<const std::byte> bytes = bytes_of(t);
        if (bytes.empty()) return tensor_view<const T, E, backend::reference>(nullptr, ext);
        if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(T) != 0)
            throw unsupported_error(where, detail::tensor_object(t.name),
                                    "data at file byte " + std::to_string(data_offset() + t.begin) + " is not aligned to " +
                                        std::to_string(alignof(T)) + " bytes, so it cannot be viewed as " +
                                        std::string(to_string(dtype_of<T>())) + "; use read(), which copies");
        // The bytes hold T exactly and are aligned: the mapping (or buffer) is the tensor.
        return tensor_view<const T, E, backend::reference>(reinterpret_cast<const T*>(bytes.data()), ext);
    }

    mapped_file file_;
    std::uint64_t header_size_ = 0;
    std::vector<tensor_info> tensors_;
    std::map<std::string, std::string> metadata_;
    std::unordered_map<std::string_view, std::size_t> index_; // names point into tensors_
};

} // namespace io
STARBUCKS_NAMESPACE_END
