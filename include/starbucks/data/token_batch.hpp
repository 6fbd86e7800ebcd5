// SPDX-License-Identifier: Apache-2.0
// data::token_batch: texts tokenized and padded into the (ids, mask) tensors a BERT encoder takes.
// Needs the text component (utf8proc); not part of data.hpp for that reason.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "../config.hpp"
#include "../core/error.hpp"
#include "../nn/attention.hpp"
#include "../nn/embedding.hpp"
#include "../ops/transfer.hpp"
#include "../text/wordpiece.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace data {

/// Token ids (N, T) and the matching 0/1 mask, padded to the longest text.
template <class T, class B>
struct token_batch {
    nn::id_tensor<B> ids;
    nn::mask_tensor<T, B> mask;
};

/// @brief Tokenizes `texts` ([CLS] ... [SEP], cut at max_length, padded to the longest).
/// @throws model_error naming `where` when a token id is outside the model's `vocab_size`.
template <class T, class B>
token_batch<T, B> tokenize(const text::wordpiece& tokenizer, std::span<const std::string_view> texts, std::size_t max_length,
                           std::size_t vocab_size, const char* where) {
    const auto enc = tokenizer.encode_batch(texts, text::encode_options{max_length, true, text::padding::longest});
    const std::size_t n = enc.size(), tokens = enc.front().ids.size();
    using H = backend::host_backend_t<B>; // built on the host, then moved to B
    nn::id_tensor<H> ids(n, tokens);
    nn::mask_tensor<T, H> mask(n, tokens);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t t = 0; t < tokens; ++t) {
            const auto id = enc[i].ids[t];
            if (id < 0 || static_cast<std::size_t>(id) >= vocab_size)
                throw model_error(where, "token id " + std::to_string(id), "is outside the model's vocab_size " + std::to_string(vocab_size));
            ids(i, t) = id;
            mask(i, t) = static_cast<T>(enc[i].attention_mask[t]);
        }
    return token_batch<T, B>{to<B>(std::move(ids)), to<B>(std::move(mask))};
}

} // namespace data
STARBUCKS_NAMESPACE_END
