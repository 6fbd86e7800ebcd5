// SPDX-License-Identifier: Apache-2.0
// train masking for SMAE and MLM pre-training (METHOD.md section 4): whole-word masking with one
// shuffled word order per sequence, an encoder copy masked inside the decoder copy, 80/10/10
// replacement, and random windows of long documents. Every draw comes from Philox keyed by
// (seed, key), so a sequence's masks depend on nothing else (thread count, batch, resume).
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../text/wordpiece.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace train {

/// The label of a position that is not predicted (PyTorch's cross-entropy default).
inline constexpr std::int64_t not_predicted = -100;

/// @brief What masking needs to know about each vocabulary id: special tokens (never masked)
/// and continuation pieces (`##...`, joined to the word before them).
struct token_roles {
    std::vector<bool> special;
    std::vector<bool> continuation;
    std::int64_t cls_id = 0, sep_id = 0, mask_id = 0;
    /// Random replacements draw ids below this: the vocabulary size, or the model's vocab_size
    /// when that is smaller (a tokenizer with a few tokens the embeddings lack).
    std::size_t random_ids = 0;

    /// @throws usage_error when the vocabulary lacks [CLS], [SEP] or [MASK].
    static token_roles of(const text::wordpiece& tokenizer) {
        const auto& v = tokenizer.vocabulary();
        token_roles r;
        r.special.assign(v.size(), false);
        r.continuation.assign(v.size(), false);
        const std::string& prefix = tokenizer.options().continuing_subword_prefix;
        for (std::size_t id = 0; id < v.size(); ++id) r.continuation[id] = v.token(static_cast<text::token_id>(id)).starts_with(prefix);
        for (const std::string& s : tokenizer.options().special_tokens)
            if (const auto id = v.find(s)) r.special[static_cast<std::size_t>(*id)] = true;
        const auto need = [&](const char* token) {
            const auto id = v.find(token);
            if (!id) throw usage_error("starbucks::train::token_roles", std::string("the vocabulary has no ") + token + " token");
            return static_cast<std::int64_t>(*id);
        };
        r.cls_id = need("[CLS]");
        r.sep_id = need("[SEP]");
        r.mask_id = need("[MASK]");
        r.random_ids = v.size();
        return r;
    }

    std::size_t vocab_size() const noexcept { return special.size(); }
    bool is_special(std::int64_t id) const { return special.at(static_cast<std::size_t>(id)); }
    bool is_continuation(std::int64_t id) const { return continuation.at(static_cast<std::size_t>(id)); }
};

/// The budgets and replacement rates of METHOD.md section 4.
struct masking_options {
    double encoder_ratio = 0.2; ///< encoder budget max(1, round(ratio * length))
    double decoder_ratio = 0.4; ///< decoder budget, >= the encoder's
    double mask_rate = 0.8;     ///< of the chosen positions, replaced by [MASK]
    double random_rate = 0.5;   ///< of the rest, replaced by a random id (the others keep theirs)
};

/// One copy of a sequence with some positions replaced; labels hold the original id where the
/// copy is to be predicted and `not_predicted` elsewhere.
struct masked_copy {
    std::vector<std::int64_t> ids;
    std::vector<std::int64_t> labels;
};

/// A sequence and its two masked copies (encoder ⊆ decoder positions).
struct masked_sequence {
    std::vector<std::int64_t> ids;
    masked_copy encoder, decoder;
    std::size_t encoder_budget = 0, decoder_budget = 0;
};

/// The positions of each whole word of `ids` in order: specials skipped, a continuation piece
/// joins the word before it (or starts one when none precedes), as HF's whole-word collator.
inline std::vector<std::vector<std::size_t>> whole_words(std::span<const std::int64_t> ids, const token_roles& roles) {
    std::vector<std::vector<std::size_t>> words;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (roles.is_special(ids[i])) continue;
        if (roles.is_continuation(ids[i]) && !words.empty()) words.back().push_back(i);
        else words.push_back({i});
    }
    return words;
}

/// Philox streams of one sequence: 4·key + 0 shuffles words, + 1 and + 2 replace the encoder and
/// decoder copies, + 3 places the window.
inline rng_stream masking_stream(std::uint64_t seed, std::uint64_t key, std::uint64_t use) { return rng_stream{seed, 4 * key + use}; }

/// Uniform in [0, 1) from one 32-bit word (24 bits, exact in float and double).
inline double unit_interval(std::uint32_t bits) noexcept { return double(bits >> 8) * (1.0 / 16777216.0); }

/// @brief Masks one sequence (`ids` with its [CLS]/[SEP], no padding) as METHOD.md section 4.
///
/// Budgets count every token of the sequence, specials included (HF's collator does). Words are
/// visited in one shuffled order; a word joins the decoder set while it fits the decoder budget
/// (visiting stops once the budget is full), and joins the encoder set too when it also fits the
/// encoder budget. Each copy then replaces its positions 80 % [MASK] / 10 % random id / 10 % kept.
inline masked_sequence mask_sequence(std::span<const std::int64_t> ids, const token_roles& roles, std::uint64_t seed, std::uint64_t key,
                                     const masking_options& o = {}) {
    masked_sequence out;
    out.ids.assign(ids.begin(), ids.end());
    const double n = double(ids.size());
    out.encoder_budget = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(o.encoder_ratio * n)));
    out.decoder_budget = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(o.decoder_ratio * n)));

    auto words = whole_words(ids, roles);
    const rng_stream shuffle = masking_stream(seed, key, 0);
    std::uint64_t draw = 0;
    for (std::size_t i = words.size(); i-- > 1;) std::swap(words[i], words[shuffle.bits(draw++) % (i + 1)]);

    std::vector<bool> in_encoder(ids.size(), false), in_decoder(ids.size(), false);
    std::size_t encoder_count = 0, decoder_count = 0;
    for (const auto& w : words) {
        if (decoder_count >= out.decoder_budget) break;
        if (decoder_count + w.size() > out.decoder_budget) continue;
        for (std::size_t p : w) in_decoder[p] = true;
        decoder_count += w.size();
        if (encoder_count + w.size() <= out.encoder_budget) {
            for (std::size_t p : w) in_encoder[p] = true;
            encoder_count += w.size();
        }
    }

    const auto replace = [&](const std::vector<bool>& chosen, rng_stream rng) {
        masked_copy c{out.ids, std::vector<std::int64_t>(ids.size(), not_predicted)};
        for (std::size_t p = 0; p < ids.size(); ++p) {
            if (!chosen[p]) continue;
            c.labels[p] = ids[p];
            if (unit_interval(rng.bits(3 * p)) < o.mask_rate) c.ids[p] = roles.mask_id;
            else if (unit_interval(rng.bits(3 * p + 1)) < o.random_rate) c.ids[p] = static_cast<std::int64_t>(rng.bits(3 * p + 2) % roles.random_ids);
        }
        return c;
    };
    out.encoder = replace(in_encoder, masking_stream(seed, key, 1));
    out.decoder = replace(in_decoder, masking_stream(seed, key, 2));
    return out;
}

/// @brief `[CLS] window [SEP]`: all of `pieces` when they fit in max_length - 2, else a window
/// of that many pieces starting at a position drawn from stream 4·key + 3.
/// @throws usage_error when max_length cannot hold [CLS], [SEP] and one piece, or pieces is empty.
inline std::vector<std::int64_t> sequence_window(std::span<const text::token_id> pieces, std::size_t max_length, const token_roles& roles,
                                                 std::uint64_t seed, std::uint64_t key) {
    if (max_length < 3) throw usage_error("starbucks::train::sequence_window", "max_length " + std::to_string(max_length) + " cannot hold [CLS], [SEP] and a piece");
    if (pieces.empty()) throw usage_error("starbucks::train::sequence_window", "an empty document has no window");
    const std::size_t room = max_length - 2;
    std::size_t start = 0, count = pieces.size();
    if (count > room) {
        start = masking_stream(seed, key, 3).bits(0) % (count - room + 1);
        count = room;
    }
    std::vector<std::int64_t> ids;
    ids.reserve(count + 2);
    ids.push_back(roles.cls_id);
    for (std::size_t i = 0; i < count; ++i) ids.push_back(pieces[start + i]);
    ids.push_back(roles.sep_id);
    return ids;
}

} // namespace train
STARBUCKS_NAMESPACE_END
