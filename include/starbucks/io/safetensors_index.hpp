// SPDX-License-Identifier: Apache-2.0
// sharded_safetensors: a checkpoint split over several safetensors files by
// model.safetensors.index.json ({"metadata": ..., "weight_map": {tensor: shard file}}).
#pragma once

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

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "detail/printable.hpp"
#include "detail/strict_json.hpp"
#include "detail/utf8.hpp"
#include "mapped_file.hpp"
#include "safetensors_file.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io {

/// @brief The shards of a checkpoint, found through its index file, as one set of tensors.
///
/// Guarantees: the index is strict JSON; every shard name is a plain file name in the index's
/// directory (no separators, no "." or ".."), so an index cannot reach other files; every
/// tensor the weight_map lists is in the shard it names, and every tensor of every shard is
/// listed there, once. Shards are validated as safetensors_file. Errors: format_error naming
/// the index (or shard) and the tensor; io_error when a shard cannot be opened.
class sharded_safetensors {
public:
    /// Index files are small (about 100 bytes per tensor); this bounds what is read.
    static constexpr std::uint64_t max_index_bytes = std::uint64_t{64} << 20;

    /// @brief Opens the index at `index_path` and every shard it names, each with `mode`.
    explicit sharded_safetensors(const std::filesystem::path& index_path, read_mode mode = read_mode::map)
        : label_(index_path.string()) {
        const std::map<std::string, std::vector<std::string>> by_shard = read_index(index_path);
        const std::filesystem::path dir = index_path.parent_path();
        shards_.reserve(by_shard.size());
        for (const auto& [shard, listed] : by_shard) {
            shards_.emplace_back(dir / shard, mode);
            const safetensors_file& file = shards_.back();
            for (const std::string& name : listed)
                if (!file.contains(name))
                    throw format_error(label_, detail::tensor_object(name),
                                       "weight_map puts it in " + detail::quote_text(shard) + ", which has no such tensor");
        }
        for (std::size_t s = 0; s < shards_.size(); ++s) {
            for (const tensor_info& t : shards_[s].tensors()) {
                const auto listed = weight_map_.find(t.name);
                if (listed == weight_map_.end())
                    throw format_error(shards_[s].label(), detail::tensor_object(t.name), "is not listed in the weight_map of " + label_);
                if (listed->second != shard_name(s))
                    throw format_error(label_, detail::tensor_object(t.name),
                                       "is in two shards, " + detail::quote_text(shard_name(s)) + " and " + detail::quote_text(listed->second) +
                                           "; the weight_map names " + detail::quote_text(listed->second));
                shard_of_.emplace(t.name, s);
            }
        }
    }

    sharded_safetensors(sharded_safetensors&&) noexcept = default;
    sharded_safetensors& operator=(sharded_safetensors&&) noexcept = default;

    const std::string& label() const noexcept { return label_; }
    /// The index's "metadata" object (an empty object when absent).
    const nlohmann::json& metadata() const noexcept { return metadata_; }
    /// The shards, ordered by file name.
    const std::vector<safetensors_file>& shards() const noexcept { return shards_; }
    /// Every tensor name: shards in file-name order, header order within each.
    std::vector<std::string_view> names() const {
        std::vector<std::string_view> out;
        for (const safetensors_file& s : shards_)
            for (const tensor_info& t : s.tensors()) out.emplace_back(t.name);
        return out;
    }
    bool contains(std::string_view name) const { return shard_of_.find(name) != shard_of_.end(); }

    /// @brief The shard holding `name`. @throws model_error when no shard has it.
    const safetensors_file& shard_of(std::string_view name) const {
        const auto it = shard_of_.find(name);
        if (it == shard_of_.end())
            throw model_error(label_, detail::tensor_object(name),
                              "missing: no shard has such a tensor (" + std::to_string(shard_of_.size()) + " in " +
                                  std::to_string(shards_.size()) + " shards)");
        return shards_[it->second];
    }
    const tensor_info& info(std::string_view name) const { return shard_of(name).info(name); }
    std::span<const std::byte> raw_bytes(std::string_view name) const { return shard_of(name).raw_bytes(name); }
    template <element T, extents_type E>
    tensor<T, E, backend::reference> read(std::string_view name) const {
        return shard_of(name).template read<T, E>(name);
    }
    template <element T, extents_type E>
    tensor<T, E, backend::reference> read(std::string_view name, const E& expected) const {
        return shard_of(name).template read<T, E>(name, expected);
    }
    template <element T, extents_type E>
    tensor_view<const T, E, backend::reference> view(std::string_view name) const {
        return shard_of(name).template view<T, E>(name);
    }

private:
    std::string shard_name(std::size_t s) const { return shards_[s].path().filename().string(); }

    /// Reads and checks the index; returns shard file name -> tensors the weight_map puts there.
    std::map<std::string, std::vector<std::string>> read_index(const std::filesystem::path& path) {
        mapped_file file(path, read_mode::read);
        if (file.size() > max_index_bytes)
            throw format_error(label_, "", "index has " + std::to_string(file.size()) + " bytes; the limit is " +
                                               std::to_string(max_index_bytes));
        std::string text(static_cast<std::size_t>(file.size()), '\0');
        file.read(0, std::as_writable_bytes(std::span(text.data(), text.size())));
        if (const auto bad = detail::find_invalid_utf8(text))
            throw format_error(label_ + "@" + std::to_string(bad->offset), "", "not valid UTF-8: " + std::string(bad->reason));
        detail::check_strict_json(text, detail::strict_json_options{label_ + "@", 64, /*spaces_only_padding=*/false});
        const nlohmann::json index = nlohmann::json::parse(text);

        if (const auto m = index.find("metadata"); m != index.end()) {
            if (!m->is_object())
                throw format_error(label_, "key \"metadata\"", "is " + std::string(detail::json_kind_name(m->type())) + ", not an object");
            metadata_ = *m;
        }
        const auto wm = index.find("weight_map");
        if (wm == index.end()) throw format_error(label_, "", "no \"weight_map\"");
        if (!wm->is_object())
            throw format_error(label_, "key \"weight_map\"", "is " + std::string(detail::json_kind_name(wm->type())) + ", not an object");

        std::map<std::string, std::vector<std::string>> by_shard;
        for (const auto& [name, shard] : wm->items()) {
            if (!shard.is_string())
                throw format_error(label_, detail::tensor_object(name),
                                   "weight_map value is " + std::string(detail::json_kind_name(shard.type())) + ", not a file name");
            const std::string& file_name = shard.get_ref<const std::string&>();
            if (!plain_file_name(file_name))
                throw format_error(label_, detail::tensor_object(name),
                                   "shard " + detail::quote_text(file_name) +
                                       " is not a plain file name; shards must sit beside the index (no separators, no . or ..)");
            by_shard[file_name].push_back(name);
            weight_map_.emplace(name, file_name);
        }
        return by_shard;
    }

    static bool plain_file_name(std::string_view s) noexcept {
        if (s.empty() || s == "." || s == "..") return false;
        for (char c : s)
            if (c == '/' || c == '\\' || c == '\0') return false;
        return true;
    }

    std::string label_;
    nlohmann::json metadata_ = nlohmann::json::object();
    std::vector<safetensors_file> shards_;
    std::unordered_map<std::string, std::string> weight_map_;
    std::unordered_map<std::string_view, std::size_t> shard_of_; // names point into shards_
};

} // namespace io
STARBUCKS_NAMESPACE_END
