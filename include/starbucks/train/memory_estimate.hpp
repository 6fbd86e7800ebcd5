// SPDX-License-Identifier: Apache-2.0
// train::estimate_training_memory: the peak memory of a training run, from the config and the
// batch shape alone, so a run that cannot fit is refused before anything is allocated.
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "../config.hpp"
#include "../nn/bert_config.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace train {

/// Bytes in human units, as messages show them: "512 B", "3.40 MB", "1.27 GB" (powers of 1000).
inline std::string format_bytes(std::uint64_t bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        ++u;
    }
    char text[32];
    // Three significant digits: "1.27 GB", "25.0 GB", "436 MB".
    std::snprintf(text, sizeof text, u == 0 || v >= 100 ? "%.0f %s" : (v < 10 ? "%.2f %s" : "%.1f %s"), v, units[u]);
    return text;
}

/// Trainable values of a BERT encoder (embeddings, their LayerNorm, `layers` layers), no pooler:
/// what nn::bert_encoder holds.
inline std::uint64_t encoder_parameters(const nn::bert_config& c, std::size_t layers) {
    const std::uint64_t h = c.hidden_size, i = c.intermediate_size;
    const std::uint64_t embeddings = (std::uint64_t{c.vocab_size} + c.max_position_embeddings + c.type_vocab_size) * h + 2 * h;
    const std::uint64_t layer = 4 * (h * h + h) /* Q, K, V, output */ + 2 * h + (h * i + i) + (i * h + h) + 2 * h;
    return embeddings + layers * layer;
}

/// What one micro-batch puts through the model.
struct batch_geometry {
    std::size_t texts = 0;       ///< sequences in the micro-batch (all texts of all examples)
    std::size_t max_length = 0;  ///< tokens per sequence, at most (batches pad to their longest)
    std::size_t layers = 0;      ///< encoder layers the objective runs (the deepest pair)
    std::size_t extra_layers = 0; ///< further layer-sized blocks run per micro-batch (SMAE's decoder, once per pair)
    std::size_t head_rows = 0;   ///< rows scored by a vocabulary-wide head (MLM logits), all terms together
};

/// @brief The parts of a training run's peak memory, in bytes of float32.
struct memory_estimate {
    std::uint64_t weights = 0;
    std::uint64_t gradients = 0;
    std::uint64_t optimizer = 0;   ///< AdamW's two moments
    std::uint64_t activations = 0; ///< what the tape keeps for backward, plus one layer of gradients in flight
    std::uint64_t total() const noexcept { return weights + gradients + optimizer + activations; }
    /// "weights 91.0 MB + gradients 91.0 MB + AdamW moments 182 MB + activations 3.17 GB = 3.53 GB"
    std::string breakdown() const {
        return "weights " + format_bytes(weights) + " + gradients " + format_bytes(gradients) + " + AdamW moments " + format_bytes(optimizer) +
               " + activations " + format_bytes(activations) + " = " + format_bytes(total());
    }
};

/// @brief Estimates the peak memory of training `parameters` trainable values on micro-batches of
/// shape `g` with model `c`.
///
/// Per token and layer the tape keeps about 16·hidden + 2·intermediate values (the layer input,
/// Q, K, V, context, projections, dropout masks, residual sums, LayerNorm outputs, the FFN before
/// and after GELU) plus 3·heads·T for the attention probabilities, their dropout mask and the
/// dropped copy; embeddings add 4·hidden per token, a vocabulary head 2·vocab per row (logits and
/// their gradient), and one more layer covers the gradients alive during backward. An upper
/// bound for padded batches; docs/reliability.md compares it with measured peaks.
inline memory_estimate estimate_training_memory(const nn::bert_config& c, std::uint64_t parameters, const batch_geometry& g) {
    constexpr std::uint64_t f32 = 4;
    const std::uint64_t h = c.hidden_size, i = c.intermediate_size, heads = c.num_attention_heads, t = g.max_length;
    const std::uint64_t tokens = std::uint64_t{g.texts} * t;
    const std::uint64_t per_token_layer = 16 * h + 2 * i + 3 * heads * t;
    memory_estimate e;
    e.weights = parameters * f32;
    e.gradients = parameters * f32;
    e.optimizer = 2 * parameters * f32;
    e.activations = f32 * (tokens * (per_token_layer * (g.layers + g.extra_layers + 1) + 4 * h) + std::uint64_t{g.head_rows} * 2 * c.vocab_size);
    return e;
}

/// Where a memory budget came from and how large it is.
struct memory_budget {
    std::uint64_t bytes = 0;
    std::string source; ///< "MemAvailable in /proc/meminfo", "the cgroup limit (memory.max)", ...
};

/// @brief The memory a new run may use now: /proc/meminfo's MemAvailable, lowered to what the
/// cgroup (v2 memory.max less memory.current, or v1 limit_in_bytes less usage) leaves; nothing
/// where neither can be read (not Linux).
inline std::optional<memory_budget> available_memory() {
    std::optional<memory_budget> best;
    const auto offer = [&](std::uint64_t bytes, const char* source) {
        if (!best || bytes < best->bytes) best = memory_budget{bytes, source};
    };
    {
        // Line by line: some lines (HugePages_Total: 0) have no unit to read past.
        std::ifstream meminfo("/proc/meminfo");
        for (std::string line; std::getline(meminfo, line);) {
            std::istringstream fields(line);
            std::string key;
            std::uint64_t kb = 0;
            if (fields >> key >> kb && key == "MemAvailable:") offer(kb * 1024, "MemAvailable in /proc/meminfo");
        }
    }
    const auto read_number = [](const char* path) -> std::optional<std::uint64_t> {
        std::ifstream in(path);
        std::string text;
        if (!(in >> text) || text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt; // "max": no limit
        std::istringstream parse(text);
        std::uint64_t v = 0;
        if (!(parse >> v)) return std::nullopt;
        return v;
    };
    if (const auto limit = read_number("/sys/fs/cgroup/memory.max")) {
        const std::uint64_t used = read_number("/sys/fs/cgroup/memory.current").value_or(0);
        offer(*limit > used ? *limit - used : 0, "the cgroup limit (/sys/fs/cgroup/memory.max less memory.current)");
    } else if (const auto v1 = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes"); v1 && *v1 < (std::uint64_t{1} << 60)) {
        const std::uint64_t used = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes").value_or(0);
        offer(*v1 > used ? *v1 - used : 0, "the cgroup limit (memory.limit_in_bytes less usage)");
    }
    return best;
}

} // namespace train
STARBUCKS_NAMESPACE_END
