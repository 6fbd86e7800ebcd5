// SPDX-License-Identifier: Apache-2.0
// The `starbucks embed` check: recomputes each line's vector through the C++ API, one text at a
// time (no padding), mean-pooling the last hidden state by hand, and compares with the CLI's TSV.
// Usage: cli_embed_reference MODEL_DIR INPUT_TXT OUTPUT_TSV LAYERS DIM; exit 0 when every value is
// within 1e-5 and the row and column counts match.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <starbucks/starbucks.hpp>
#include <starbucks/text/wordpiece.hpp>

namespace sb = starbucks;

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: cli_embed_reference MODEL_DIR INPUT_TXT OUTPUT_TSV LAYERS DIM\n");
        return 1;
    }
    try {
        const std::filesystem::path dir = argv[1];
        const std::size_t layers = std::stoul(argv[4]);
        const std::size_t dim = std::stoul(argv[5]);
        const auto config = sb::io::read_bert_config(dir / "config.json");
        sb::io::safetensors_file weights(dir / "model.safetensors");
        sb::nn::bert_encoder<float> m(config);
        m.load(weights);
        const auto tokenizer = sb::text::wordpiece::load(dir);

        std::ifstream texts(argv[2]), rows(argv[3]);
        std::string text, row;
        std::size_t line = 0;
        double worst = 0;
        sb::autograd::no_grad inference;
        while (std::getline(texts, text)) {
            ++line;
            if (!std::getline(rows, row)) {
                std::fprintf(stderr, "output has no row %zu\n", line);
                return 1;
            }
            const auto e = tokenizer.encode(text, {config.max_position_embeddings, true, sb::text::padding::none});
            const std::size_t tokens = e.size();
            sb::nn::id_tensor<sb::backend::reference> ids(std::size_t{1}, tokens);       // (1, T)
            sb::nn::mask_tensor<float, sb::backend::reference> mask(std::size_t{1}, tokens); // (1, T)
            for (std::size_t t = 0; t < tokens; ++t) {
                ids(0, t) = e.ids[t];
                mask(0, t) = 1.0f;
            }
            const auto hidden = m(ids, mask);   // every layer: layers + 1 <= size
            const auto h = hidden.at(layers).value(); // (1, T, C)
            std::vector<float> got;
            std::istringstream fields(row);
            for (std::string f; std::getline(fields, f, '\t');) got.push_back(std::stof(f));
            if (got.size() != dim) {
                std::fprintf(stderr, "row %zu has %zu values, expected %zu\n", line, got.size(), dim);
                return 1;
            }
            for (std::size_t c = 0; c < dim; ++c) {
                double sum = 0;
                for (std::size_t t = 0; t < tokens; ++t) sum += h(0, t, c);
                const double diff = std::fabs(sum / static_cast<double>(tokens) - got[c]);
                worst = std::max(worst, diff);
                if (!(diff <= 1e-5)) {
                    std::fprintf(stderr, "row %zu dim %zu: CLI %.9g vs API %.9g\n", line, c, static_cast<double>(got[c]),
                                 sum / static_cast<double>(tokens));
                    return 1;
                }
            }
        }
        if (line == 0 || std::getline(rows, row)) {
            std::fprintf(stderr, "row count differs from the %zu input lines\n", line);
            return 1;
        }
        std::printf("%zu rows match, max abs diff %.3g\n", line, worst);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
