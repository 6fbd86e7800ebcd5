// SPDX-License-Identifier: Apache-2.0
// What every nn module shares: named parameters, HF-style initialisation, dropout draws, and
// loading weights by name from a tensor source (io::safetensors_file or anything alike).
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "../autograd/autograd.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "../core/extents.hpp"
#include "../core/rng.hpp"
#include "../ops/transfer.hpp"
#include "../tensor/init.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace nn {

/// Weight matrices and embedding tables: [rows, cols], widths from the config.
template <class T, class B>
using matrix_var = autograd::var<T, dextents<2>, B>;
/// Biases and LayerNorm gains.
template <class T, class B>
using vector_var = autograd::var<T, dextents<1>, B>;

/// @brief One trainable tensor under its Hugging Face name (`encoder.layer.0.output.dense.bias`).
/// Copies share the parameter's state, so an optimizer given `value` updates the module.
template <class T, class B>
using named_parameter = std::pair<std::string, std::variant<vector_var<T, B>, matrix_var<T, B>>>;

template <class T, class B>
using parameter_list = std::vector<named_parameter<T, B>>;

/// @brief Something weights can be read from by name: io::safetensors_file, a sharded index, ...
/// nn/ sits below io/, so it names what it needs instead of the reader type.
template <class S>
concept tensor_source = requires(const S& s, std::string_view name, const dextents<2>& e) {
    { s.contains(name) } -> std::convertible_to<bool>;
    { s.label() } -> std::convertible_to<std::string>;
    s.names();
    s.template read<float, dextents<2>>(name, e);
};

/// @brief Where dropout draws its masks from. Masks depend only on (seed, step, site), so a run
/// is reproducible and independent of threads; `training` false turns every dropout off.
struct dropout_source {
    bool training = false;
    std::uint64_t seed = 0;
    std::uint64_t step = 0;
};

namespace detail {

/// Sites per step in a stream id: room for the embeddings and three sites in each of 21844 layers.
inline constexpr std::uint64_t dropout_sites = std::uint64_t(1) << 16;

/// Whether a dropout with probability p draws a mask (else it is the identity).
inline bool dropout_active(double p, const dropout_source& d) noexcept { return d.training && p != 0; }

/// The random stream of the dropout at `site` in step d.step.
inline rng_stream dropout_stream(const dropout_source& d, std::uint64_t site) noexcept {
    return rng_stream{d.seed, d.step * dropout_sites + site};
}

/// Dropout with probability p at `site`; the identity when not training.
template <class T, class E, class B>
autograd::var<T, E, B> dropout(const autograd::var<T, E, B>& x, double p, const dropout_source& d, std::uint64_t site) {
    if (!dropout_active(p, d)) return x;
    return autograd::dropout(x, static_cast<T>(p), dropout_stream(d, site));
}

/// A weight drawn from Normal(0, 0.02), as BertPreTrainedModel._init_weights does.
template <class T, class B, extents_type E>
autograd::var<T, E, B> normal_parameter(const E& e, rng_stream rng) {
    return autograd::parameter(random_normal<T, B>(e, rng, T(0), T(0.02)));
}
template <class T, class B, extents_type E>
autograd::var<T, E, B> constant_parameter(const E& e, T value) {
    return autograd::parameter(full<T, B>(e, value));
}

/// @brief Overwrites `parameter`'s values (in place: every handle sees them) with `name` from
/// `source`. @throws model_error naming the tensor and both shapes (from the reader) when they differ.
template <class T, class E, class B, tensor_source S>
void load_into(autograd::var<T, E, B>& parameter, const S& source, const std::string& name) {
    const auto stored = source.template read<T, E>(name, parameter.extents());
    auto dst = parameter.mutable_value(); // a leaf: contiguous
    if constexpr (B::host_accessible) std::copy(stored.data(), stored.data() + stored.size(), dst.data());
    else B::upload(B::default_context(), dst.data(), stored.data(), stored.size() * sizeof(T));
}

inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
inline bool ends_with(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

} // namespace detail

/// @brief Loads every parameter of `module` (HF names) from `source`.
///
/// A bare encoder name is looked up as `bert.<name>` first, then `<name>`; a name the module
/// already qualifies (`bert.*` of a model with heads) as itself, then without `bert.`; a head's
/// `cls.*` name only as itself. A LayerNorm `weight` / `bias` may also be stored as `gamma` /
/// `beta` (old TF checkpoints). Tensors the model does not use are allowed only when they are
/// known heads: `pooler.*`, `classifier.*`, `cls.*` and `*position_ids`. @throws model_error
/// naming the source and the tensor when one is missing, has another shape, or is unknown.
template <class Module, tensor_source S>
void load_parameters(Module& module, const S& source) {
    auto params = module.parameters();
    std::vector<std::string> used;
    for (auto& [name, value] : params) {
        std::vector<std::string> candidates;
        if (detail::starts_with(name, "cls.")) candidates = {name};
        else if (detail::starts_with(name, "bert.")) candidates = {name, name.substr(5)};
        else candidates = {"bert." + name, name};
        const std::string other = candidates.back() == name ? candidates.front() : candidates.back(); // the name's other spelling
        if (detail::ends_with(name, "LayerNorm.weight") || detail::ends_with(name, "LayerNorm.bias")) {
            const std::string alt = detail::ends_with(name, ".weight") ? "gamma" : "beta";
            for (std::size_t i = 0, n = candidates.size(); i < n; ++i)
                candidates.push_back(candidates[i].substr(0, candidates[i].rfind('.') + 1) + alt);
        }
        const auto found = std::find_if(candidates.begin(), candidates.end(), [&](const std::string& c) { return source.contains(c); });
        if (found == candidates.end())
            throw model_error(std::string(source.label()), "tensor \"" + name + "\"",
                              other == name ? std::string("missing") : "missing (also looked for \"" + other + "\")");
        std::visit([&](auto& v) { detail::load_into(v, source, *found); }, value);
        used.push_back(*found);
    }
    std::sort(used.begin(), used.end());
    for (const auto& stored : source.names()) {
        const std::string n(stored);
        if (std::binary_search(used.begin(), used.end(), n)) continue;
        const std::string_view bare = detail::starts_with(n, "bert.") ? std::string_view(n).substr(5) : std::string_view(n);
        if (detail::starts_with(bare, "pooler.") || detail::starts_with(bare, "classifier.") || detail::starts_with(n, "cls.") ||
            detail::starts_with(bare, "cls.") || detail::ends_with(bare, "position_ids"))
            continue;
        throw model_error(std::string(source.label()), "tensor \"" + n + "\"", "not a weight of this model");
    }
}

} // namespace nn
STARBUCKS_NAMESPACE_END
