// SPDX-License-Identifier: Apache-2.0
// Conan test package: embeds one sentence with a small randomly initialised BERT (the tokenizer
// from an inline vocabulary), checks the vector's shape and that it is finite, and runs one GEMM
// on each backend component the package has (cpu_onednn, cpu_eigen).
#include <cmath>
#include <cstdio>

#include <starbucks/starbucks.hpp>
#if defined(STARBUCKS_WITH_TEXT)
#include <starbucks/text/wordpiece.hpp>
#endif
#if defined(STARBUCKS_WITH_ONEDNN)
#include <starbucks/backend/cpu_onednn/cpu_onednn.hpp>
#endif
#if defined(STARBUCKS_WITH_EIGEN)
#include <starbucks/backend/cpu_eigen/cpu_eigen.hpp>
#endif

namespace sb = starbucks;

/// One (3, 5) x (5, 2) product on backend B; true when it is finite.
template <class B>
bool gemm_runs(const char* name) {
    auto a = sb::random_uniform<float, B>(sb::extents<sb::dyn, sb::dyn>(3, 5), sb::rng_stream{1, 0}, -1.f, 1.f);
    auto b = sb::random_uniform<float, B>(sb::extents<sb::dyn, sb::dyn>(5, 2), sb::rng_stream{2, 0}, -1.f, 1.f);
    const auto c = sb::matmul(a, b); // (3, 2)
    std::printf("%s: (3, 5) x (5, 2) -> c[2, 1] = %g\n", name, static_cast<double>(c(2, 1)));
    return std::isfinite(c(2, 1));
}

int main() {
    bool ok = true;
#if defined(STARBUCKS_WITH_TEXT)
    const auto tokenizer = sb::text::wordpiece(sb::text::vocab::from_txt(
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncoffee\nis\nhot\n##ter\ntoday\n.\n", "inline vocab.txt"));
    const auto e = tokenizer.encode("The coffee is hotter today."); // [CLS] the coffee is hot ##ter today . [SEP]
    sb::nn::bert_config config;
    config.hidden_size = 16;
    config.num_hidden_layers = 2;
    config.num_attention_heads = 2;
    config.intermediate_size = 32;
    config.vocab_size = tokenizer.vocabulary().size();
    config.max_position_embeddings = 32;
    sb::nn::bert_encoder<float> encoder(config, 42);
    sb::autograd::no_grad inference;
    sb::nn::id_tensor<sb::backend::reference> ids(std::size_t{1}, e.size());           // (1, T)
    sb::nn::mask_tensor<float, sb::backend::reference> mask(std::size_t{1}, e.size()); // (1, T)
    for (std::size_t t = 0; t < e.size(); ++t) {
        ids(0, t) = e.ids[t];
        mask(0, t) = 1.0f;
    }
    const auto hidden = encoder(ids, mask, 1); // layer 1 of 2: a (1, 16) Matryoshka sub-model
    const auto h = hidden.at(1).value();       // (1, T, 16)
    float first = 0;
    for (std::size_t t = 0; t < e.size(); ++t) first += h(0, t, 0) / static_cast<float>(e.size());
    std::printf("starbucks %s: \"The coffee is hotter today.\" -> %zu tokens -> %zu hidden states, dim 0 = %g\n",
                STARBUCKS_VERSION_STRING, e.size(), hidden.size(), static_cast<double>(first));
    ok = ok && e.size() == 9 && hidden.size() == 2 && std::isfinite(first);
#else
    std::printf("starbucks %s (core only)\n", STARBUCKS_VERSION_STRING);
#endif
#if defined(STARBUCKS_WITH_ONEDNN)
    ok = gemm_runs<sb::backend::cpu_onednn>("cpu_onednn") && ok;
#endif
#if defined(STARBUCKS_WITH_EIGEN)
    ok = gemm_runs<sb::backend::cpu_eigen>("cpu_eigen") && ok;
#endif
    return ok ? 0 : 1;
}
