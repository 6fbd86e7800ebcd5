// SPDX-License-Identifier: Apache-2.0
// Validation of a safetensors prefix and header, in the order of RELIABILITY.md section 3:
// size, magic bytes, header length, UTF-8, strict JSON, entries, byte layout.
// Private to io/; include <starbucks/io/safetensors.hpp> instead.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../core/error.hpp"
#include "../tensor_info.hpp"
#include "printable.hpp"
#include "strict_json.hpp"
#include "utf8.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io::detail {

// safetensors data is little-endian and is copied as is. (A preprocessor check, so io/ holds no
// assert-like token for the lint of RELIABILITY.md section 6 to trip on.)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "starbucks::io: safetensors data is little-endian; big-endian hosts need byte swapping"
#endif

/// Limits from RELIABILITY.md section 7, as in the reference reader.
inline constexpr std::uint64_t max_header_bytes = 100'000'000;
inline constexpr std::size_t max_name_bytes = 4096;
inline constexpr std::uint64_t max_dim = std::uint64_t{1} << 53; // exclusive: JSON numbers stay exact

/// The header and what it describes, validated.
struct parsed_header {
    std::vector<tensor_info> tensors; // in header order
    std::map<std::string, std::string> metadata;
};

inline std::string hex_bytes(std::span<const std::byte> b) {
    constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::byte x : b) {
        const auto v = std::to_integer<unsigned>(x);
        if (!out.empty()) out += ' ';
        out += {'0', 'x', digits[v >> 4], digits[v & 15]};
    }
    return out;
}

/// @brief Checks the file's first bytes (`first` holds min(size, 9) of them) and returns the header
/// length N. Nothing depends on N before it passes here.
/// @throws format_error, unsupported_error for pickle and zip files.
inline std::uint64_t check_prefix(std::span<const std::byte> first, std::uint64_t file_size, const std::string& label) {
    if (file_size < 8)
        throw format_error(label, "", "file has " + std::to_string(file_size) +
                                          " bytes; a safetensors file needs at least 8 bytes (the header length)");
    // torch.save output is a zip archive (or a bare pickle for old files). The same first bytes can
    // start a valid length field, so the byte where a safetensors header would open decides.
    const bool header_opens = file_size > 8 && (first[8] == std::byte{'{'} || first[8] == std::byte{' '});
    const auto b = [&](std::size_t i) { return std::to_integer<unsigned>(first[i]); };
    if (!header_opens) {
        if (b(0) == 'P' && b(1) == 'K' && b(2) == 3 && b(3) == 4)
            throw unsupported_error(label, "", "starts with PK\\x03\\x04, a zip archive as torch.save writes (.bin, .pt); "
                                               "it is never unpickled; convert to safetensors");
        if (b(0) == 0x80 && b(1) >= 2 && b(1) <= 5)
            throw unsupported_error(label, "", "starts with " + hex_bytes(first.first(2)) + ", a pickle (protocol " +
                                                   std::to_string(b(1)) + ") as PyTorch writes (.bin, .pt, .pth, .ckpt); "
                                                   "it is never unpickled; convert to safetensors");
    }
    std::uint64_t n = 0;
    for (std::size_t i = 8; i-- > 0;) n = (n << 8) | b(i);
    // Compared without forming n + 8, which wraps for n near 2^64.
    if (n > file_size - 8)
        throw format_error(label + "@0", "", "header length " + std::to_string(n) + " exceeds the " +
                                                 std::to_string(file_size - 8) + " bytes after the length field (file has " +
                                                 std::to_string(file_size) + " bytes)");
    if (n > max_header_bytes)
        throw format_error(label + "@0", "", "header length " + std::to_string(n) + " exceeds the limit of " +
                                                 std::to_string(max_header_bytes) + " bytes (file has " +
                                                 std::to_string(file_size) + " bytes)");
    return n;
}

/// numel × element size, or nothing when it does not fit 64 bits (a zero extent makes it 0).
inline std::optional<std::uint64_t> checked_byte_size(safetensors_dtype t, const shape& s) noexcept {
    for (std::size_t i = 0; i < s.rank; ++i)
        if (s.dims[i] == 0) return 0;
    std::uint64_t n = size_of(t);
    for (std::size_t i = 0; i < s.rank; ++i) {
        const std::uint64_t d = s.dims[i];
        if (n > std::numeric_limits<std::uint64_t>::max() / d) return std::nullopt;
        n *= d;
    }
    return n;
}

/// "[768,3072]": shapes in format errors are written as in the header.
inline std::string json_shape(const shape& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.rank; ++i) out += (i ? "," : "") + std::to_string(s.dims[i]);
    return out + "]";
}

/// @brief Pass two: the safetensors schema, on JSON that pass one (strict_json_checker) accepted.
///
/// Streams: each top-level entry is collected in a bounded form (arrays keep at most 9 items,
/// deeper values are skipped) and validated as soon as it closes, so memory grows only with
/// valid tensors and metadata, never with junk.
class header_schema : public json_offsets {
public:
    using json = nlohmann::json;

    header_schema(std::string_view header, const std::string& label) : json_offsets(header), label_(label) {}

    parsed_header run() {
        if (!json::sax_parse(begin(), end(), this, json::input_format_t::json, /*strict=*/false))
            throw internal_error("starbucks::io::read_safetensors", "header schema pass failed on checked JSON");
        return std::move(result_);
    }

    // ---- SAX interface ----
    bool null() { return scalar(item::of(json::value_t::null)); }
    bool boolean(bool) { return scalar(item::of(json::value_t::boolean)); }
    bool number_integer(json::number_integer_t v) { return scalar(item::of(json::value_t::number_integer, 0, v)); }
    bool number_unsigned(json::number_unsigned_t v) { return scalar(item::of(json::value_t::number_unsigned, v)); }
    bool number_float(json::number_float_t, const json::string_t& raw) {
        return scalar(item::of(json::value_t::number_float, 0, 0, raw));
    }
    bool string(json::string_t& s) { return scalar(item::of(json::value_t::string, 0, 0, s)); }
    bool binary(json::binary_t&) { return scalar(item::of(json::value_t::binary)); }
    bool start_object(std::size_t) { return open(json::value_t::object); }
    bool start_array(std::size_t) { return open(json::value_t::array); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(json::string_t& k) {
        if (depth_ == 1) {
            entry_ = entry{};
            entry_.name = k;
            entry_.name_offset = string_start();
            entry_.is_metadata = k == "__metadata__";
        } else if (depth_ == 2 && entry_.kind == json::value_t::object) {
            field_ = nullptr;
            if (entry_.is_metadata) {
                meta_key_ = k;
                meta_key_offset_ = string_start();
            } else if (k == "dtype") {
                field_ = &entry_.dtype;
            } else if (k == "shape") {
                field_ = &entry_.shape;
            } else if (k == "data_offsets") {
                field_ = &entry_.offsets;
            } else if (!entry_.unknown_key) {
                entry_.unknown_key = k;
                entry_.unknown_offset = string_start();
            }
            if (field_) {
                field_->present = true;
                field_->offset = string_start();
            }
        }
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

private:
    struct item {
        json::value_t kind = json::value_t::discarded;
        std::uint64_t u = 0;
        std::int64_t i = 0;
        std::string text; ///< a string's value or a float's token

        static item of(json::value_t kind, std::uint64_t u = 0, std::int64_t i = 0, std::string text = {}) {
            item it;
            it.kind = kind;
            it.u = u;
            it.i = i;
            it.text = std::move(text);
            return it;
        }
    };
    struct field {
        bool present = false;
        std::size_t offset = 0; ///< of its key
        item value;             ///< kind, and the value when it is a scalar
        std::vector<item> items;
        std::size_t count = 0; ///< items seen, kept or not
    };
    struct entry {
        std::string name;
        std::size_t name_offset = 0;
        bool is_metadata = false;
        json::value_t kind = json::value_t::discarded;
        field dtype, shape, offsets;
        std::optional<std::string> unknown_key;
        std::size_t unknown_offset = 0;
    };
    static constexpr std::size_t kept_items = max_rank + 1; // enough to tell "too many"

    // depth_ counts open containers: 1 inside the root, 2 inside an entry, 3 inside shape or
    // data_offsets. Values deeper than that are never valid, so they are only counted.
    bool scalar(item v) {
        if (depth_ == 1) {
            entry_.kind = v.kind;
            finish_entry();
        } else if (depth_ == 2 && entry_.kind == json::value_t::object) {
            if (entry_.is_metadata) metadata_value(v);
            else if (field_) field_->value = std::move(v);
        } else if (depth_ == 3 && collecting_) {
            add_item(std::move(v));
        }
        return true;
    }
    bool open(json::value_t kind) {
        if (depth_ == 1) {
            entry_.kind = kind;
        } else if (depth_ == 2 && entry_.kind == json::value_t::object) {
            if (entry_.is_metadata) metadata_value(item::of(kind));
            else if (field_) {
                field_->value.kind = kind;
                if (kind == json::value_t::array && field_ != &entry_.dtype) collecting_ = field_;
            }
        } else if (depth_ == 3 && collecting_) {
            add_item(item::of(kind));
        }
        ++depth_;
        return true;
    }
    bool close() {
        --depth_;
        if (depth_ == 2) collecting_ = nullptr;
        if (depth_ == 1) finish_entry();
        return true;
    }
    void add_item(item v) {
        if (collecting_->items.size() < kept_items) collecting_->items.push_back(std::move(v));
        ++collecting_->count;
    }
    void metadata_value(const item& v) {
        if (v.kind == json::value_t::string) result_.metadata.emplace(meta_key_, v.text);
        else if (!meta_error_) meta_error_ = std::pair{meta_key_offset_, "metadata key " + quote_text(meta_key_) + ": value is " +
                                                                          std::string(json_kind_name(v.kind)) + ", not a string"};
    }

    std::string where(std::size_t offset) const { return header_where(label_, offset); }
    [[noreturn]] void fail(std::size_t offset, std::string rule) const {
        throw format_error(where(offset), tensor_object(entry_.name), std::move(rule));
    }

    void finish_entry() {
        field_ = nullptr;
        collecting_ = nullptr;
        if (entry_.is_metadata) finish_metadata();
        else result_.tensors.push_back(finish_tensor());
    }

    void finish_metadata() {
        if (entry_.kind != json::value_t::object)
            throw format_error(where(entry_.name_offset), "key \"__metadata__\"",
                               "value is " + std::string(json_kind_name(entry_.kind)) + ", not an object of strings");
        if (meta_error_) throw format_error(where(meta_error_->first), "key \"__metadata__\"", meta_error_->second);
    }

    tensor_info finish_tensor() {
        const entry& e = entry_;
        tensor_info t;
        t.name = e.name;
        t.header_offset = e.name_offset;
        if (e.name.empty()) fail(e.name_offset, "tensor name is empty");
        if (e.name.size() > max_name_bytes)
            fail(e.name_offset, "tensor name has " + std::to_string(e.name.size()) + " bytes; at most " +
                                    std::to_string(max_name_bytes) + " are allowed");
        if (const auto bad = find_invalid_utf8(e.name))
            fail(e.name_offset, "tensor name is not valid UTF-8 at byte " + std::to_string(bad->offset) + ": " +
                                    std::string(bad->reason));
        if (e.kind != json::value_t::object)
            fail(e.name_offset, "entry is " + std::string(json_kind_name(e.kind)) + ", not an object");
        const std::pair<const field*, const char*> required[] = {{&e.dtype, "dtype"}, {&e.shape, "shape"}, {&e.offsets, "data_offsets"}};
        for (const auto& [f, name] : required)
            if (!f->present) fail(e.name_offset, "entry has no \"" + std::string(name) + "\"");
        if (e.unknown_key)
            fail(e.unknown_offset, "unexpected key " + quote_text(*e.unknown_key) +
                                       "; an entry holds exactly dtype, shape and data_offsets");

        t.dtype = check_dtype(e.dtype);
        t.dims = check_shape(e.shape);
        const std::uint64_t bytes = checked_bytes(t);
        check_offsets(e.offsets, t, bytes);
        return t;
    }

    safetensors_dtype check_dtype(const field& f) const {
        if (f.value.kind != json::value_t::string)
            fail(f.offset, "dtype is " + std::string(json_kind_name(f.value.kind)) + ", not a string");
        const std::string& name = f.value.text;
        if (const auto t = parse_safetensors_dtype(name)) return *t;
        std::string readable;
        for (safetensors_dtype t : readable_safetensors_dtypes) readable += (readable.empty() ? "" : " ") + std::string(to_string(t));
        if (is_unsupported_safetensors_dtype(name))
            throw unsupported_error(where(f.offset), tensor_object(entry_.name),
                                    "dtype " + name + " is not supported; readable dtypes: " + readable);
        fail(f.offset, "unknown dtype " + quote_text(name) + "; readable dtypes: " + readable);
    }

    shape check_shape(const field& f) const {
        if (f.value.kind != json::value_t::array)
            fail(f.offset, "shape is " + std::string(json_kind_name(f.value.kind)) + ", not an array");
        if (f.count > max_rank)
            fail(f.offset, "rank " + std::to_string(f.count) + " exceeds the maximum rank " + std::to_string(max_rank));
        shape s;
        s.rank = f.count;
        for (std::size_t i = 0; i < f.count; ++i) {
            const std::string dim = "dim " + std::to_string(i) + " ";
            std::uint64_t v = 0;
            if (!non_negative_integer(f.items[i], v)) fail(f.offset, dim + describe(f.items[i]) + "; dims must be non-negative integers");
            if (v >= max_dim) fail(f.offset, dim + "is " + std::to_string(v) + "; dims must be below 2^53");
            s.dims[i] = static_cast<std::size_t>(v);
        }
        return s;
    }

    std::uint64_t checked_bytes(const tensor_info& t) const {
        const auto n = checked_byte_size(t.dtype, t.dims);
        if (!n) fail(entry_.shape.offset, "size of " + std::string(to_string(t.dtype)) + " " + json_shape(t.dims) + " overflows 64 bits");
        return *n;
    }

    void check_offsets(const field& f, tensor_info& t, std::uint64_t bytes) const {
        if (f.value.kind != json::value_t::array)
            fail(f.offset, "data_offsets is " + std::string(json_kind_name(f.value.kind)) + ", not an array");
        if (f.count != 2)
            fail(f.offset, "data_offsets must be 2 integers [begin, end], found " + std::to_string(f.count) +
                               (f.count == 1 ? " value" : " values"));
        std::uint64_t v[2] = {0, 0};
        for (std::size_t i = 0; i < 2; ++i)
            if (!non_negative_integer(f.items[i], v[i]))
                fail(f.offset, "data_offsets[" + std::to_string(i) + "] " + describe(f.items[i]) +
                                   "; offsets must be non-negative integers");
        if (v[0] > v[1])
            fail(f.offset, "data_offsets [" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + "]: begin is past end");
        if (v[1] - v[0] != bytes)
            fail(f.offset, "data_offsets hold " + std::to_string(v[1] - v[0]) + " bytes, " + std::string(to_string(t.dtype)) +
                               " " + json_shape(t.dims) + " needs " + std::to_string(bytes));
        t.begin = v[0];
        t.end = v[1];
    }

    static bool non_negative_integer(const item& it, std::uint64_t& out) {
        if (it.kind == json::value_t::number_unsigned) {
            out = it.u;
            return true;
        }
        if (it.kind == json::value_t::number_integer && it.i >= 0) { // "-0" arrives here
            out = static_cast<std::uint64_t>(it.i);
            return true;
        }
        return false;
    }
    static std::string describe(const item& it) {
        switch (it.kind) {
        case json::value_t::number_integer: return "is " + std::to_string(it.i);
        case json::value_t::number_float: return "is " + escaped(it.text, 40);
        default: return "is " + std::string(json_kind_name(it.kind));
        }
    }

    std::string label_;
    std::size_t depth_ = 0;
    entry entry_;
    field* field_ = nullptr;      // the entry field whose value comes next
    field* collecting_ = nullptr; // the shape or data_offsets array being read
    std::string meta_key_;
    std::size_t meta_key_offset_ = 0;
    std::optional<std::pair<std::size_t, std::string>> meta_error_;
    parsed_header result_;
};

/// Tensors tile the data section: sorted by range, the first begins at 0, each begins where the
/// previous one ends, and the last ends at the end of the file.
inline void check_layout(const std::vector<tensor_info>& tensors, std::uint64_t header_size, std::uint64_t file_size,
                         const std::string& label) {
    std::vector<std::size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return tensors[a].begin != tensors[b].begin ? tensors[a].begin < tensors[b].begin : tensors[a].end < tensors[b].end;
    });
    const auto range = [](const tensor_info& t) {
        return "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + ")";
    };
    std::uint64_t end = 0;
    const tensor_info* previous = nullptr;
    for (std::size_t i : order) {
        const tensor_info& t = tensors[i];
        const std::string where = header_where(label, t.header_offset);
        if (!previous && t.begin != 0)
            throw format_error(where, tensor_object(t.name), "hole at the start of the data: the first tensor begins at byte " +
                                                                 std::to_string(t.begin) + ", not 0");
        if (previous && t.begin > end)
            throw format_error(where, tensor_object(t.name),
                               "hole of " + std::to_string(t.begin - end) + " bytes: it begins at " + std::to_string(t.begin) +
                                   " but " + tensor_object(previous->name) + " ends at " + std::to_string(end));
        if (previous && t.begin < end)
            throw format_error(where, tensor_object(t.name),
                               (t.begin == previous->begin && t.end == previous->end ? "same byte range " + range(t) + " as "
                                                                                     : "overlaps: " + range(t) + " and ") +
                                   tensor_object(previous->name) +
                                   (t.begin == previous->begin && t.end == previous->end ? "" : " " + range(*previous)));
        end = t.end;
        previous = &t;
    }
    const std::uint64_t data_size = file_size - 8 - header_size; // check_prefix ensured no wrap
    const std::string file = " (8 + header " + std::to_string(header_size) + " + data " + std::to_string(end) + ")";
    if (end > data_size)
        throw format_error(label + "@" + std::to_string(file_size), previous ? tensor_object(previous->name) : "",
                           "data_offsets point past the end of the file: the data ends at byte " +
                               std::to_string(8 + header_size + end) + file + " but the file has " + std::to_string(file_size) +
                               " bytes (truncated?)");
    if (end < data_size)
        throw format_error(label + "@" + std::to_string(8 + header_size + end), previous ? tensor_object(previous->name) : "",
                           std::to_string(data_size - end) + " trailing bytes: the data ends at byte " +
                               std::to_string(8 + header_size + end) + file + " but the file has " + std::to_string(file_size) +
                               " bytes");
}

/// @brief Validates the JSON header (bytes 8 .. 8+N of a file of `file_size` bytes).
/// @throws format_error, unsupported_error naming `label`, the byte offset and the tensor or key.
inline parsed_header parse_header(std::string_view header, std::uint64_t file_size, const std::string& label) {
    if (const auto bad = find_invalid_utf8(header)) {
        const std::size_t shown = std::min<std::size_t>(4, header.size() - bad->offset);
        throw format_error(header_where(label, bad->offset), "",
                           "header is not valid UTF-8: " + std::string(bad->reason) + " (" +
                               hex_bytes(std::as_bytes(std::span(header.data() + bad->offset, shown))) + ")");
    }
    check_strict_json(header, strict_json_options{label + "@8+", 64, true});
    parsed_header h = header_schema(header, label).run();
    check_layout(h.tensors, header.size(), file_size, label);
    return h;
}

} // namespace io::detail
STARBUCKS_NAMESPACE_END
