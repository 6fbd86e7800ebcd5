// SPDX-License-Identifier: Apache-2.0
// train checkpoints: a folder per saved step (weights, optimizer moments, trainer state) that
// appears complete or not at all, so a crash or a full disk never leaves a half-written one and
// the previous good checkpoint survives.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "../config.hpp"
#include "../core/error.hpp"
#include "../io/atomic_file.hpp"
#include "../io/mapped_file.hpp"
#include "../io/safetensors.hpp"
#include "../nn/module.hpp"
#include "../ops/transfer.hpp"
#include "../optim/adamw.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace train {

/// Where training stands after a completed optimizer step: enough to continue bit for bit.
struct train_state {
    std::uint64_t step = 0;              ///< optimizer steps completed
    std::uint64_t epoch = 0;             ///< 0-based epoch of the next batch
    std::uint64_t batch_in_epoch = 0;    ///< next batch's position within that epoch
    std::uint64_t encoder_forwards = 0;  ///< the encoder's dropout counter
    std::uint64_t skipped_steps = 0;     ///< non-finite steps skipped so far
    nlohmann::json options;              ///< what produced the run (checked on resume)
};

inline nlohmann::json to_json(const train_state& s) {
    return {{"step", s.step},
            {"epoch", s.epoch},
            {"batch_in_epoch", s.batch_in_epoch},
            {"encoder_forwards", s.encoder_forwards},
            {"skipped_steps", s.skipped_steps},
            {"options", s.options}};
}

/// @brief Parses trainer_state.json. @throws format_error naming the file and the key.
inline train_state read_train_state(const std::filesystem::path& path) {
    const std::string label = path.string();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(io::read_small_file(path, std::uint64_t{1} << 24));
    } catch (const nlohmann::json::exception& e) {
        throw format_error(label, "JSON", e.what());
    }
    train_state s;
    const auto get = [&](const char* key, std::uint64_t& out) {
        if (!j.is_object() || !j.contains(key) || !j[key].is_number_unsigned())
            throw format_error(label, std::string("key \"") + key + "\"", "is missing or not a non-negative integer");
        out = j[key].get<std::uint64_t>();
    };
    get("step", s.step);
    get("epoch", s.epoch);
    get("batch_in_epoch", s.batch_in_epoch);
    get("encoder_forwards", s.encoder_forwards);
    get("skipped_steps", s.skipped_steps);
    if (j.contains("options")) s.options = j["options"];
    return s;
}

/// @brief Checks that a checkpoint's run used `options` (what trainer_state.json records).
///
/// The number of processes (`world_size`, absent = 1) may change when the examples per batch
/// (batch_size × world_size) stay the same: the batches, and so the data order, are then the
/// same, and the run continues where it stopped (bitwise only with the same world size).
/// @throws usage_error naming the first option that differs and the file.
inline void check_same_options(const train_state& saved, const nlohmann::json& options, const std::filesystem::path& checkpoint) {
    const std::string file = (checkpoint / "trainer_state.json").string();
    const auto world_of = [](const nlohmann::json& o) { return o.contains("world_size") ? o["world_size"].get<std::uint64_t>() : std::uint64_t{1}; };
    const std::uint64_t saved_world = world_of(saved.options), world = world_of(options);
    const bool same_world = saved_world == world;
    if (!same_world && options.contains("batch_size")) {
        const std::uint64_t batch = options["batch_size"].get<std::uint64_t>();
        const std::uint64_t saved_batch = saved.options.contains("batch_size") ? saved.options["batch_size"].get<std::uint64_t>() : 0;
        if (saved_batch * saved_world != batch * world)
            throw usage_error(file, "the checkpoint's run had " + std::to_string(saved_world) + " process(es) x batch size " + std::to_string(saved_batch) +
                                        " = " + std::to_string(saved_batch * saved_world) + " examples per batch and this run has " + std::to_string(world) +
                                        " x " + std::to_string(batch) + "; resume with the same examples per batch" +
                                        ((saved_batch * saved_world) % world == 0 ? " (--batch-size " + std::to_string(saved_batch * saved_world / world) + ")"
                                                                                  : std::string()) +
                                        ", or start a new run from its weights with --model " + checkpoint.string());
    }
    for (const auto& [key, value] : options.items()) {
        if (key == "world_size" || (key == "batch_size" && !same_world)) continue;
        if (!saved.options.contains(key) || saved.options[key] != value)
            throw usage_error(file, "option \"" + key + "\" was " + (saved.options.contains(key) ? saved.options[key].dump() : "absent") +
                                        " in the checkpoint's run and is " + value.dump() + " now; resume with the same options");
    }
}

/// The folder name of the checkpoint after `step` optimizer steps: `checkpoint-000120`.
inline std::string checkpoint_name(std::uint64_t step) {
    std::string digits = std::to_string(step);
    if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
    return "checkpoint-" + digits;
}

/// @brief Complete checkpoints under `root`, oldest first (a folder counts once its
/// trainer_state.json exists, which is written last).
inline std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& root) {
    std::vector<std::filesystem::path> out;
    std::error_code ec;
    if (!std::filesystem::is_directory(root, ec)) return out;
    for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("checkpoint-", 0) == 0 && std::filesystem::exists(entry.path() / "trainer_state.json", ec))
            out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// @brief Removes checkpoint folder `dir`: first renamed out of list_checkpoints' sight (one
/// atomic step), then deleted, so a process killed half-way never leaves a listed checkpoint with
/// files missing. Errors are ignored: a checkpoint that stays is only disk space.
inline void retire(const std::filesystem::path& dir) {
    const std::filesystem::path hidden = dir.parent_path() / ("." + dir.filename().string() + ".retired");
    std::error_code ec;
    std::filesystem::remove_all(hidden, ec);
    std::filesystem::rename(dir, hidden, ec);
    if (!ec) std::filesystem::remove_all(hidden, ec);
}

/// Deletes what a killed save_checkpoint leaves under `root`: `.checkpoint-*.partial` folders
/// never renamed into place and `.checkpoint-*.retired` ones not yet deleted (run_steps calls it
/// when it starts, save_checkpoint before each save).
inline void remove_leftovers(const std::filesystem::path& root) {
    std::error_code ec;
    std::vector<std::filesystem::path> stale;
    for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(".checkpoint-", 0) == 0 && (name.ends_with(".partial") || name.ends_with(".retired"))) stale.push_back(entry.path());
    }
    for (const auto& p : stale) std::filesystem::remove_all(p, ec);
}

/// @brief Writes a checkpoint folder `root/checkpoint-<step>` atomically.
///
/// Everything goes to a temporary sibling folder first (weights, optimizer moments, then
/// `write_extra(dir)` for config and tokenizer files, then trainer_state.json), which is
/// renamed into place; then all but the newest `keep` checkpoints are retired. On any error the
/// temporary folder is removed and earlier checkpoints are untouched; a SIGKILL at any point
/// leaves every listed checkpoint complete (tests/faults/kill_during_checkpoint.cpp).
/// @throws io_error naming the path (a full disk, a read-only folder).
template <class T, class B>
std::filesystem::path save_checkpoint(const std::filesystem::path& root, const train_state& state, const nn::parameter_list<T, B>& params,
                                      optim::adamw<T, B>& optimizer, const std::function<void(const std::filesystem::path&)>& write_extra,
                                      std::size_t keep = 2) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) throw io_error(root.string(), "cannot create the checkpoint folder: " + ec.message());
    const fs::path final_dir = root / checkpoint_name(state.step);
    const fs::path tmp = root / ("." + checkpoint_name(state.step) + ".partial");
    remove_leftovers(root);
    try {
        fs::create_directories(tmp, ec);
        if (ec) throw io_error(tmp.string(), "cannot create: " + ec.message());
        std::vector<io::tensor_entry> weights, moments;
        for (const auto& entry : params) // not a structured binding: clang 14 cannot capture one in the lambda
            std::visit([&](const auto& v) { weights.push_back(io::make_entry(entry.first, v.value())); }, entry.second);
        io::save_safetensors(tmp / "model.safetensors", weights);
        std::size_t i = 0;
        optimizer.for_each_moment([&](std::size_t index, const T* m, const T* v, std::size_t n) {
            const auto& name = params.at(index).first;
            moments.push_back(io::make_entry("m." + name, tensor_view<const T, dextents<1>, B>(m, dextents<1>(n))));
            moments.push_back(io::make_entry("v." + name, tensor_view<const T, dextents<1>, B>(v, dextents<1>(n))));
            ++i;
        });
        if (i != params.size())
            throw internal_error("starbucks::train::save_checkpoint", "the optimizer holds " + std::to_string(i) + " parameters, the model " +
                                                                        std::to_string(params.size()));
        io::save_safetensors(tmp / "optimizer.safetensors", moments,
                             {{"format", "pt"}, {"adam_steps", std::to_string(optimizer.steps_taken())}});
        if (write_extra) write_extra(tmp);
        const std::string text = to_json(state).dump(2) + "\n";
        io::write_file_atomically(tmp / "trainer_state.json", std::as_bytes(std::span(text.data(), text.size())));
        if (fs::exists(final_dir, ec)) retire(final_dir);
        fs::rename(tmp, final_dir, ec);
        if (ec) throw io_error(final_dir.string(), "cannot move the finished checkpoint into place: " + ec.message());
    } catch (...) {
        fs::remove_all(tmp, ec);
        throw;
    }
    auto all = list_checkpoints(root);
    for (std::size_t k = 0; keep > 0 && k + keep < all.size(); ++k) retire(all[k]);
    return final_dir;
}

/// @brief Restores weights and optimizer moments from a checkpoint folder and returns its state.
/// @throws io_error / format_error naming the file; model_error naming a missing or mis-shaped tensor.
template <class Module, class T, class B>
train_state load_checkpoint(const std::filesystem::path& dir, Module& model, optim::adamw<T, B>& optimizer) {
    train_state state = read_train_state(dir / "trainer_state.json");
    const io::safetensors_file weights(dir / "model.safetensors");
    nn::load_parameters(model, weights);
    const io::safetensors_file moments(dir / "optimizer.safetensors");
    const auto params = model.parameters();
    optimizer.for_each_moment([&](std::size_t index, T* m, T* v, std::size_t n) {
        const auto& name = params.at(index).first;
        const auto mm = moments.template read<T, dextents<1>>("m." + name, dextents<1>(n));
        const auto vv = moments.template read<T, dextents<1>>("v." + name, dextents<1>(n));
        if constexpr (B::host_accessible) {
            std::copy(mm.data(), mm.data() + n, m);
            std::copy(vv.data(), vv.data() + n, v);
        } else {
            B::upload(B::default_context(), m, mm.data(), n * sizeof(T));
            B::upload(B::default_context(), v, vv.data(), n * sizeof(T));
        }
    });
    const auto steps = moments.metadata().find("adam_steps");
    if (steps == moments.metadata().end())
        throw format_error((dir / "optimizer.safetensors").string(), "metadata \"adam_steps\"", "is missing");
    optimizer.set_steps_taken(std::stol(steps->second));
    return state;
}

} // namespace train
STARBUCKS_NAMESPACE_END
