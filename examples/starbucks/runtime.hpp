// SPDX-License-Identifier: Apache-2.0
// What the compute-heavy subcommands (train, eval) share: choosing a backend at run time,
// opening a model folder on that backend, and small file and flag helpers.
#pragma once

#include <signal.h>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <starbucks/backend/threads.hpp>
#include <starbucks/distributed/launcher.hpp>
#include <starbucks/io/atomic_file.hpp>
#include <starbucks/io/detail/printable.hpp>
#include <starbucks/io/mapped_file.hpp>
#include <starbucks/train/interrupt.hpp>
#include <starbucks/train/memory_estimate.hpp>
#ifdef STARBUCKS_WITH_EIGEN
#include <starbucks/backend/cpu_eigen/cpu_eigen.hpp>
#endif
#ifdef STARBUCKS_WITH_ONEDNN
#include <starbucks/backend/cpu_onednn/cpu_onednn.hpp>
#endif
#ifdef STARBUCKS_WITH_CUDA
#include <starbucks/backend/cuda/cuda.hpp>
#endif

#include "common.hpp"

namespace starbucks_cli {

/// The backends this build can run, fastest first (the first is the default).
inline std::vector<std::string> compiled_backends() {
    std::vector<std::string> b;
#ifdef STARBUCKS_WITH_ONEDNN
    b.emplace_back("cpu_onednn");
#endif
#ifdef STARBUCKS_WITH_EIGEN
    b.emplace_back("cpu_eigen");
#endif
    b.emplace_back("reference");
#ifdef STARBUCKS_WITH_CUDA
    b.emplace_back("cuda"); // last: never the default, a GPU is asked for by name
#endif
    return b;
}

inline std::string joined(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
    return s;
}

/// @brief The backend to run on (`requested`, or the fastest compiled in), with the thread count
/// applied (`threads` > 0, else STARBUCKS_NUM_THREADS, else the OpenMP default).
/// @throws usage_error for a backend this build lacks or a thread count out of range.
inline std::string choose_backend(const std::string& requested, std::int64_t threads) {
    const auto all = compiled_backends();
    const std::string b = requested.empty() ? all.front() : requested;
    if (std::find(all.begin(), all.end(), b) == all.end())
        throw sb::usage_error("--backend", b + " is not compiled into this build; it has " + joined(all));
    sb::backend::apply_thread_environment();
    if (threads < 0 || threads > 4096) throw sb::usage_error("--threads", std::to_string(threads) + " is out of range; it must be in 1..4096");
    if (threads > 0) sb::backend::set_num_threads(static_cast<int>(threads));
#ifdef STARBUCKS_WITH_CUDA
    // A missing or unusable GPU is reported now, before any data is read or output written.
    if (b == "cuda") sb::backend::cuda::default_context();
#endif
    return b;
}

/// Calls f(std::type_identity<B>{}) with the backend type named `name` (from choose_backend).
template <class F>
void with_backend(const std::string& name, F&& f) {
#ifdef STARBUCKS_WITH_ONEDNN
    if (name == "cpu_onednn") return f(std::type_identity<sb::backend::cpu_onednn>{});
#endif
#ifdef STARBUCKS_WITH_EIGEN
    if (name == "cpu_eigen") return f(std::type_identity<sb::backend::cpu_eigen>{});
#endif
    if (name == "reference") return f(std::type_identity<sb::backend::reference>{});
#ifdef STARBUCKS_WITH_CUDA
    if (name == "cuda") return f(std::type_identity<sb::backend::cuda>{});
#endif
    throw sb::internal_error("starbucks_cli::with_backend", "backend " + name + " was not resolved");
}

/// @brief Where the encoder of a model folder lives: the folder itself, or the path of the
/// Transformer module named by a sentence-transformers modules.json.
inline std::filesystem::path transformer_dir(const std::filesystem::path& dir) {
    const auto modules = dir / "modules.json";
    std::error_code ec;
    if (!std::filesystem::exists(modules, ec)) return dir;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(sb::io::read_small_file(modules, std::uint64_t{1} << 20));
    } catch (const nlohmann::json::exception& e) {
        throw sb::format_error(modules.string(), "JSON", e.what());
    }
    if (j.is_array())
        for (const auto& m : j)
            if (m.is_object() && m.value("type", std::string()).ends_with("Transformer")) {
                const std::string path = m.value("path", std::string());
                if (path.find("..") != std::string::npos || (!path.empty() && path.front() == '/'))
                    throw sb::format_error(modules.string(), "module path \"" + path + "\"", "leaves the model folder");
                return path.empty() ? dir : dir / path;
            }
    return dir;
}

/// A model folder opened on backend B: config, weights and the encoder loaded from them.
template <class B>
struct model_folder_t {
    std::filesystem::path dir, transformer_dir, tokenizer_dir;
    sb::nn::bert_config config;
    sb::nn::bert_encoder<float, B> encoder;
};

/// @brief Opens `dir` (HF or sentence-transformers layout) and loads the encoder on B.
/// @throws as read_config, and io/format/model errors naming model.safetensors and the tensor.
template <class B>
model_folder_t<B> open_model_on(const std::string& dir) {
    require_directory(dir);
    const auto tdir = transformer_dir(dir);
    auto config = sb::io::read_bert_config(tdir / "config.json");
    const sb::io::safetensors_file weights(sb::io::model_weights_path(tdir));
    sb::nn::bert_encoder<float, B> encoder(config);
    encoder.load(weights);
    std::error_code ec;
    const bool tokenizer_here = std::filesystem::exists(tdir / "vocab.txt", ec) || std::filesystem::exists(tdir / "tokenizer.json", ec);
    return model_folder_t<B>{dir, tdir, tokenizer_here ? tdir : std::filesystem::path(dir), config, std::move(encoder)};
}

/// starbucks_config.json of a model folder, or an empty object. @throws format_error when it is not a JSON object.
inline nlohmann::json read_starbucks_config_json(const std::filesystem::path& dir) {
    const auto path = dir / "starbucks_config.json";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return nlohmann::json::object();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(sb::io::read_small_file(path, std::uint64_t{1} << 20));
    } catch (const nlohmann::json::exception& e) {
        throw sb::format_error(path.string(), "JSON", e.what());
    }
    if (!j.is_object()) throw sb::format_error(path.string(), "", "is not a JSON object");
    return j;
}

/// The pooling a sentence-transformers folder declares (1_Pooling/config.json), else mean.
inline std::string model_pooling(const std::filesystem::path& dir) {
    const auto path = dir / "1_Pooling" / "config.json";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return "mean";
    try {
        const auto j = nlohmann::json::parse(sb::io::read_small_file(path, std::uint64_t{1} << 20));
        return j.value("pooling_mode_cls_token", false) ? "cls" : "mean";
    } catch (const nlohmann::json::exception& e) {
        throw sb::format_error(path.string(), "JSON", e.what());
    }
}

/// @brief A flag that must be at least 1. @throws usage_error naming it.
inline std::size_t positive(const char* flag, std::int64_t v) {
    if (v < 1) throw sb::usage_error(flag, std::to_string(v) + " is out of range; it must be at least 1");
    return static_cast<std::size_t>(v);
}

/// @brief A byte count as --max-memory takes it: digits with an optional fraction and unit
/// (B, k/K, M, G, T; KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB and bare K/M/G/T of 1024).
/// @throws usage_error naming `flag`.
inline std::uint64_t parse_byte_count(const char* flag, const std::string& text) {
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    std::string unit = text.substr(used);
    for (auto& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    static const std::pair<const char*, double> units[] = {{"", 1},          {"B", 1},         {"K", 1024.0},     {"KIB", 1024.0},
                                                           {"KB", 1e3},      {"M", 1048576.0}, {"MIB", 1048576.0}, {"MB", 1e6},
                                                           {"G", 1073741824.0}, {"GIB", 1073741824.0}, {"GB", 1e9},
                                                           {"T", 1099511627776.0}, {"TIB", 1099511627776.0}, {"TB", 1e12}};
    for (const auto& [name, scale] : units)
        if (used > 0 && unit == name && v > 0 && v * scale < 1.8e19) return static_cast<std::uint64_t>(v * scale);
    throw sb::usage_error(flag, "\"" + sb::io::detail::escaped(text, 80, /*quotes=*/false) + "\" is not a memory size such as 8G, 512MB or 2.5GiB");
}

/// @brief Refuses a run whose estimated peak exceeds --max-memory (else the memory available
/// now), before anything is allocated or created. `estimate_at(batch)` is the estimate at any
/// batch size, for naming the largest that fits. @throws resource_error with the breakdown.
template <class EstimateAt>
void check_memory(const std::string& max_memory, std::size_t batch_size, EstimateAt&& estimate_at) {
    std::optional<sb::train::memory_budget> budget;
    if (!max_memory.empty()) budget = sb::train::memory_budget{parse_byte_count("--max-memory", max_memory), "--max-memory"};
    else budget = sb::train::available_memory();
    if (!budget) return; // nothing known to check against
    // Processes that an MPI launcher started on this machine share what is available (--max-memory is per process).
    if (const auto launch = sb::distributed::launched_world(); max_memory.empty() && launch && launch->local_size > 1) {
        budget->bytes /= static_cast<std::uint64_t>(launch->local_size);
        budget->source += ", shared by the " + std::to_string(launch->local_size) + " processes on this machine";
    }
    const sb::train::memory_estimate need = estimate_at(batch_size);
    if (need.total() <= budget->bytes) return;
    std::size_t fits = 0;
    for (std::size_t lo = 1, hi = batch_size - 1; lo <= hi && hi > 0;) { // the estimate grows with the batch
        const std::size_t mid = lo + (hi - lo) / 2;
        if (estimate_at(mid).total() <= budget->bytes) {
            fits = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    const std::string advice = fits > 0 ? "the largest --batch-size that fits is " + std::to_string(fits) + " (or lower --max-length)"
                                        : "even --batch-size 1 does not fit; lower --max-length or use a smaller model";
    throw sb::resource_error("memory", "training needs about " + need.breakdown() + ", but " + sb::train::format_bytes(budget->bytes) +
                                           " is available (" + budget->source + "); " + advice +
                                           (max_memory.empty() ? "; --max-memory sets the bound" : ""));
}

/// @brief Refuses to start when the filesystem that will hold `out` has less free space than two
/// checkpoints (the weights and both AdamW moments: 12 bytes per parameter), so a run does not
/// train for hours and then fail to save. @throws io_error naming the folder and both figures.
inline void check_free_space(const std::filesystem::path& out, std::uint64_t parameters) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path probe = fs::absolute(out, ec);
    while (!fs::exists(probe, ec) && probe.has_relative_path()) probe = probe.parent_path(); // the folder may not exist yet
    const fs::space_info space = fs::space(probe, ec);
    if (ec) return; // nothing known to check against
    const std::uint64_t needed = 2 * 12 * parameters;
    if (space.available < needed)
        throw sb::io_error(out.string(), "its filesystem has " + sb::train::format_bytes(space.available) + " free; two checkpoints of this model need about " +
                                             sb::train::format_bytes(needed) + "; free space or choose another --out");
}

/// @brief SIGINT and SIGTERM ask the training loop to finish its step, commit a checkpoint and
/// stop (train::interrupted, exit 128 + signal); the handler resets itself, so a second signal
/// ends the process at once.
inline void stop_training_on_signals() {
    struct sigaction action {};
    action.sa_handler = [](int signal) { sb::train::request_stop(signal); };
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

/// The command line this process was started with (for reports), set by main.
inline std::string& command_line() {
    static std::string line;
    return line;
}

inline void write_text_atomically(const std::filesystem::path& path, const std::string& text) {
    sb::io::write_file_atomically(path, std::as_bytes(std::span(text.data(), text.size())));
}

} // namespace starbucks_cli
