// SPDX-License-Identifier: Apache-2.0
// save_safetensors: tensors to a safetensors file, written atomically, in the layout readers expect.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "../core/shape.hpp"
#include "../ops/transfer.hpp"
#include "../tensor/tensor.hpp"
#include "../tensor/view.hpp"
#include "atomic_file.hpp"
#include "detail/printable.hpp"
#include "detail/safetensors_header.hpp"
#include "detail/utf8.hpp"
#include "tensor_info.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io {

/// @brief One tensor to write: name, stored dtype, shape and its bytes (little-endian, row-major).
///
/// `bytes` must stay valid until the save returns; `owner`, when set, keeps them alive.
struct tensor_entry {
    std::string name;
    safetensors_dtype dtype = safetensors_dtype::f32;
    shape dims;
    std::span<const std::byte> bytes;
    std::shared_ptr<const void> owner;
};

/// @brief An entry for a host tensor or view (F32, F64, BF16, I64, I32 or U8). Contiguous data
/// is referenced, not copied, so `x` must outlive the save; a strided view is copied once.
template <tensor_like X>
    requires backend_t<X>::host_accessible
tensor_entry make_entry(std::string name, const X& x) {
    using T = value_type_t<X>;
    const auto v = as_const_view(x);
    tensor_entry e{std::move(name), safetensors_dtype_of<T>(), v.dims(), {}, {}};
    if (v.is_contiguous()) {
        e.bytes = std::as_bytes(std::span(v.data(), v.size()));
    } else {
        auto copy = std::make_shared<tensor<T, extents_t<X>, backend_t<X>>>(v.extents(), uninitialized);
        copy->copy_from(v);
        e.bytes = std::as_bytes(std::span(std::as_const(*copy).data(), copy->size()));
        e.owner = std::move(copy);
    }
    return e;
}

/// @brief An entry that owns a tensor moved into it (so a temporary cannot dangle).
template <class T, class E, class B>
    requires B::host_accessible
tensor_entry make_entry(std::string name, tensor<T, E, B>&& x) {
    auto owned = std::make_shared<const tensor<T, E, B>>(std::move(x));
    tensor_entry e{std::move(name), safetensors_dtype_of<T>(), owned->dims(), std::as_bytes(std::span(owned->data(), owned->size())), {}};
    e.owner = std::move(owned);
    return e;
}

/// @brief An entry for a tensor in device memory: downloaded into a host copy the entry owns.
template <tensor_like X>
    requires(!backend_t<X>::host_accessible)
tensor_entry make_entry(std::string name, const X& x) {
    return make_entry(std::move(name), to<backend::reference>(x));
}

namespace detail {

/// The JSON header for `entries`, padded with spaces to a multiple of 8 so the data (and every
/// 8-byte type at an 8-aligned data offset) starts aligned. @throws usage_error, shape_error.
inline std::string make_safetensors_header(const std::vector<tensor_entry>& entries,
                                           const std::map<std::string, std::string>& metadata) {
    const char* fn = "starbucks::io::save_safetensors";
    const auto json_string = [](const std::string& s) { return nlohmann::json(s).dump(); };
    for (const auto& [k, v] : metadata)
        if (find_invalid_utf8(k) || find_invalid_utf8(v))
            throw usage_error(fn, "metadata key " + quote_text(k), "key and value must be valid UTF-8");

    std::string h = "{\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
        h += (first ? "" : ",") + json_string(k) + ":" + json_string(v);
        first = false;
    }
    h += "}";

    std::unordered_set<std::string_view> seen;
    std::uint64_t offset = 0;
    for (const tensor_entry& e : entries) {
        const std::string object = tensor_object(e.name);
        if (e.name.empty() || e.name.size() > max_name_bytes || find_invalid_utf8(e.name))
            throw usage_error(fn, object, "names must be 1 to " + std::to_string(max_name_bytes) + " bytes of valid UTF-8");
        if (e.name == "__metadata__") throw usage_error(fn, object, "__metadata__ is reserved for the metadata");
        if (!seen.insert(e.name).second) throw usage_error(fn, object, "given twice");
        for (std::size_t i = 0; i < e.dims.rank; ++i)
            if (e.dims[i] >= max_dim)
                throw shape_error(fn, object + ": dim " + std::to_string(i) + " is " + std::to_string(e.dims[i]) +
                                          "; readers accept dims below 2^53");
        const auto size = checked_byte_size(e.dtype, e.dims);
        if (!size || *size != e.bytes.size())
            throw shape_error(fn, object + ": " + std::string(to_string(e.dtype)) + " " + json_shape(e.dims) + " needs " +
                                      (size ? std::to_string(*size) : std::string("more than 2^64")) + " bytes, the entry has " +
                                      std::to_string(e.bytes.size()));
        const std::uint64_t bytes = *size;
        h += "," + json_string(e.name) + ":{\"dtype\":\"" + std::string(to_string(e.dtype)) + "\",\"shape\":" +
             json_shape(e.dims) + ",\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
        offset += bytes;
    }
    h += "}";
    h.append((8 - h.size() % 8) % 8, ' ');
    return h;
}

} // namespace detail

/// @brief Writes `entries`, in order and without holes, to a safetensors file at `path`.
///
/// The header starts with `{`, holds `__metadata__` (with "format": "pt" unless `metadata`
/// names a format; transformers refuses files without one) and is padded with spaces to a
/// multiple of 8. The file is written via atomic_file: on failure `path` is untouched and no
/// temporary file is left. @throws usage_error / shape_error for bad entries (before touching
/// the disk); io_error naming the path and errno text when writing fails.
inline void save_safetensors(const std::filesystem::path& path, const std::vector<tensor_entry>& entries,
                             std::map<std::string, std::string> metadata = {{"format", "pt"}}) {
    metadata.try_emplace("format", "pt");
    const std::string header = detail::make_safetensors_header(entries, metadata);
    std::array<std::byte, 8> length{};
    for (std::size_t i = 0; i < 8; ++i) length[i] = static_cast<std::byte>((std::uint64_t{header.size()} >> (8 * i)) & 0xff);

    atomic_file out(path);
    out.write(length);
    out.write(header);
    for (const tensor_entry& e : entries) out.write(e.bytes);
    out.commit();
}

} // namespace io
STARBUCKS_NAMESPACE_END
