// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the nn tests: a tiny config, random inputs, parameter access by name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "../autograd/autograd_testing.hpp"

namespace starbucks::testing {

/// tests/, found from this file so that the suite needs no compile definition.
inline std::filesystem::path tests_dir() { return std::filesystem::path(__FILE__).parent_path().parent_path(); }

/// Small enough for gradcheck: two forward passes per checked element.
inline nn::bert_config tiny_config(std::size_t layers = 1) {
    nn::bert_config c;
    c.hidden_size = 4;
    c.num_hidden_layers = layers;
    c.num_attention_heads = 2;
    c.intermediate_size = 5;
    c.vocab_size = 11;
    c.max_position_embeddings = 8;
    c.type_vocab_size = 2;
    c.layer_norm_eps = 1e-5;
    return c;
}

/// Overwrites every parameter with values far from HF's tiny initialisation, so gradients are
/// not dominated by LayerNorm's near-constant regime: uniform [-0.6, 0.6), LayerNorm gains around 1.
template <class T, class B>
void randomize(const nn::parameter_list<T, B>& params, std::uint64_t seed) {
    for (const auto& entry : params) { // not a structured binding: clang 14 cannot capture one in the lambda
        const std::string& name = entry.first;
        std::visit([&](auto v) {
            const bool gain = name.find("LayerNorm.weight") != std::string::npos;
            auto r = random<T>(v.extents(), seed++, gain ? T(0.8) : T(-0.6), gain ? T(1.2) : T(0.6));
            auto dst = v.mutable_value();
            std::copy(r.data(), r.data() + r.size(), dst.data());
        }, entry.second);
    }
}

/// The parameter called `name` as a var of extents E.
template <class E, class T, class B>
autograd::var<T, E, B> parameter_named(const nn::parameter_list<T, B>& params, const std::string& name) {
    for (const auto& [n, value] : params)
        if (n == name) return std::get<autograd::var<T, E, B>>(value);
    FAIL("no parameter " << name);
    return {};
}

/// A (B, T) mask with `lengths[b]` leading ones per row, T = `tokens`.
template <class T = double>
tensor<T, dextents<2>> padding_mask(const std::vector<std::size_t>& lengths, std::size_t tokens) {
    tensor<T, dextents<2>> m = zeros<T>(dextents<2>(lengths.size(), tokens));
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t t = 0; t < lengths[b]; ++t) m(b, t) = T(1);
    return m;
}

/// Ids in [1, vocab), 0 ([PAD]) past each row's length.
inline tensor<std::int64_t, dextents<2>> token_ids(const std::vector<std::size_t>& lengths, std::size_t tokens, std::int64_t vocab,
                                                   std::uint64_t seed) {
    tensor<std::int64_t, dextents<2>> ids = zeros<std::int64_t>(dextents<2>(lengths.size(), tokens));
    std::uint64_t i = 0;
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t t = 0; t < lengths[b]; ++t)
            ids(b, t) = 1 + static_cast<std::int64_t>(rng_stream{seed, 0}.bits(i++) % static_cast<std::uint32_t>(vocab - 1));
    return ids;
}

/// True when two views hold the same shape and bits.
template <class VA, class VB>
bool bitwise_same(const VA& a, const VB& b) {
    return a.dims() == b.dims() && bitwise_equal(flat(a), flat(b));
}

} // namespace starbucks::testing
