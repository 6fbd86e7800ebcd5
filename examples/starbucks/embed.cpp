// SPDX-License-Identifier: Apache-2.0
// starbucks embed: one vector per line of text from a BERT model folder, 2D-Matryoshka style.
//
// What it does: reads one text per line (UTF-8; invalid bytes become U+FFFD and are dropped by
// the tokenizer, as text::wordpiece documents), tokenizes it with the folder's tokenizer.json or
// vocab.txt (+ tokenizer_config.json; default: uncased BERT), runs ONLY the first N layers of the
// encoder, pools (masked mean or [CLS]), keeps the first D dimensions and, with --normalize,
// L2-normalises that prefix. Texts are batched and padded; padding does not change any vector.
// Data: any BERT folder with config.json, model.safetensors and vocab.txt, e.g. tests/data/tiny-bert-ner.
// Run: printf 'hello world\nthe cat sat\n' | starbucks embed --model tests/data/tiny-bert-ner --layers 1 --dim 8
// Expect: one line per input line: D tab-separated floats (9 significant digits), or with
// --format jsonl {"index": i, "embedding": [...]}. --output writes a temporary file and renames
// it, so on any error no output file appears. Flags beyond the model exit 1, naming the range.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <starbucks/text/wordpiece.hpp>

#include "common.hpp"

namespace starbucks_cli {

void add_embed(CLI::App& app, embed_options& o) {
    auto* cmd = app.add_subcommand("embed", "Embed one text per line with the first N layers and D dimensions of a model");
    cmd->add_option("--model", o.model, "Model folder (config.json, model.safetensors, vocab.txt or tokenizer.json)")->required();
    o.layers_flag = cmd->add_option("--layers", o.layers, "Run only the first N layers (default: all)");
    o.dim_flag = cmd->add_option("--dim", o.dim, "Keep the first D dimensions (default: the hidden size)");
    cmd->add_option("--pooling", o.pooling, "mean (over real tokens) or cls")->capture_default_str()->check(CLI::IsMember({"mean", "cls"}));
    cmd->add_flag("--normalize", o.normalize, "L2-normalise each vector after truncation to D");
    o.max_length_flag = cmd->add_option("--max-length", o.max_length,
                                        "Tokens per text, [CLS] and [SEP] included (default: max_position_embeddings)");
    cmd->add_option("--batch-size", o.batch_size, "Texts per forward pass")->capture_default_str();
    cmd->add_option("--input", o.input, "Text file, one text per line; - for stdin")->capture_default_str();
    cmd->add_option("--format", o.format, "tsv or jsonl")->capture_default_str()->check(CLI::IsMember({"tsv", "jsonl"}));
    cmd->add_option("--output", o.output, "Output file (written atomically); default stdout");
}

namespace {

/// Longer lines are refused rather than buffered (RELIABILITY.md: --max-line-bytes, 16 MiB).
constexpr std::size_t max_line_bytes = std::size_t{16} << 20;

/// @brief A value of flag `name` must lie in [1, limit]. @throws usage_error naming the range.
std::size_t in_range(const char* name, std::int64_t value, std::size_t limit, const std::string& why) {
    if (value < 1 || static_cast<std::uint64_t>(value) > limit)
        throw sb::usage_error(name, std::to_string(value) + " is out of range; " + why + (why.empty() ? "" : " ") + "it must be in 1.." + std::to_string(limit));
    return static_cast<std::size_t>(value);
}

/// @brief Every line of `in` (a trailing CR stripped). @throws format_error naming `label`.
std::vector<std::string> read_lines(std::istream& in, const std::string& label) {
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() > max_line_bytes)
            throw sb::format_error(label + ":" + std::to_string(lines.size() + 1), "line",
                                   "has " + std::to_string(line.size()) + " bytes; the limit is " + std::to_string(max_line_bytes));
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(std::move(line));
    }
    if (in.bad()) throw sb::io_error(label, "read failed after line " + std::to_string(lines.size()));
    if (lines.empty()) throw sb::format_error(label, "input", "is empty; embed needs one text per line");
    return lines;
}

std::vector<std::string> read_input(const std::string& input) {
    if (input == "-") return read_lines(std::cin, "<stdin>");
    std::error_code ec;
    if (std::filesystem::is_directory(input, ec)) throw sb::io_error(input, "is a directory; --input takes a text file");
    std::ifstream in(input, std::ios::binary);
    if (!in) throw sb::io_error(input, "cannot open for reading");
    return read_lines(in, input);
}

/// Where vectors go: an atomic file (committed at the end) or stdout.
class sink {
public:
    explicit sink(const std::string& path) {
        if (!path.empty()) file_.emplace(path);
    }
    void write(const std::string& s) {
        if (file_) {
            file_->write(std::string_view(s));
        } else if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) {
            throw sb::io_error("<stdout>", "write failed");
        }
    }
    void commit() {
        if (file_) {
            file_->commit();
        } else if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
            throw sb::io_error("<stdout>", "write failed");
        }
    }

private:
    std::optional<sb::io::atomic_file> file_;
};

} // namespace

int run_embed(const embed_options& o) {
    // Flags against the config first: a wrong --layers should not wait for the weights.
    const sb::nn::bert_config config = read_config(o.model);
    const std::size_t layers = o.layers_flag->count() ? in_range("--layers", o.layers, config.num_hidden_layers,
                                                                 "the model has " + std::to_string(config.num_hidden_layers) + " layer(s),")
                                                      : config.num_hidden_layers;
    const std::size_t dim = o.dim_flag->count()
                                ? in_range("--dim", o.dim, config.hidden_size, "hidden_size is " + std::to_string(config.hidden_size) + ",")
                                : config.hidden_size;
    const std::size_t max_length =
        o.max_length_flag->count()
            ? in_range("--max-length", o.max_length, config.max_position_embeddings,
                       "max_position_embeddings is " + std::to_string(config.max_position_embeddings) + ",")
            : config.max_position_embeddings;
    if (max_length < 2)
        throw sb::usage_error("--max-length", std::to_string(o.max_length) + " cannot hold [CLS] and [SEP]; it must be in 2.." +
                                                           std::to_string(config.max_position_embeddings));
    const std::size_t batch_size = in_range("--batch-size", o.batch_size, 65536, "");

    model_folder m = open_model(o.model);
    const sb::text::wordpiece tokenizer = sb::text::wordpiece::load(m.dir);
    const std::vector<std::string> texts = read_input(o.input);
    const std::string input_label = o.input == "-" ? "<stdin>" : o.input;

    sb::autograd::no_grad inference;
    sink out(o.output);
    const sb::text::encode_options enc{max_length, true, sb::text::padding::longest};
    for (std::size_t start = 0; start < texts.size(); start += batch_size) {
        const std::size_t count = std::min(batch_size, texts.size() - start);
        std::vector<std::string_view> batch(texts.begin() + static_cast<std::ptrdiff_t>(start),
                                            texts.begin() + static_cast<std::ptrdiff_t>(start + count));
        const auto encodings = tokenizer.encode_batch(batch, enc);
        const std::size_t tokens = encodings.front().size();
        sb::nn::id_tensor<sb::backend::reference> ids(count, tokens);   // (B, T)
        sb::nn::mask_tensor<float, sb::backend::reference> mask(count, tokens);                // (B, T)
        for (std::size_t b = 0; b < count; ++b)
            for (std::size_t t = 0; t < tokens; ++t) {
                const auto id = encodings[b].ids[t];
                // vocab.txt may hold more tokens than the embedding has rows (tiny-bert-ner: 405 vs 402).
                if (id < 0 || static_cast<std::size_t>(id) >= config.vocab_size)
                    throw sb::model_error(input_label + ":" + std::to_string(start + b + 1),
                                          "token \"" + tokenizer.vocabulary().token(id) + "\"",
                                          "has id " + std::to_string(id) + "; the model's vocab_size is " + std::to_string(config.vocab_size));
                ids(b, t) = id;
                mask(b, t) = static_cast<float>(encodings[b].attention_mask[t]);
            }
        const auto hidden = m.encoder(ids, mask, layers);              // layers + 1 states, (B, T, C)
        const auto& h = hidden.back();                                 // (B, T, C)
        std::vector<float> pooled(count * dim);                        // (B, D), the kept prefix
        const auto keep = [&](const auto& view) {                      // view: (B, C)
            for (std::size_t b = 0; b < count; ++b)
                for (std::size_t c = 0; c < dim; ++c) pooled[b * dim + c] = view(b, c);
        };
        if (o.pooling == "cls") keep(sb::nn::cls_pooling(h).value());
        else keep(sb::nn::mean_pooling(h, mask).value());
        std::string lines;
        std::vector<float> v(dim);
        for (std::size_t b = 0; b < count; ++b) {
            double norm2 = 0;
            for (std::size_t c = 0; c < dim; ++c) {
                v[c] = pooled[b * dim + c];
                norm2 += static_cast<double>(v[c]) * v[c];
            }
            if (o.normalize) {
                const double inv = 1.0 / std::max(std::sqrt(norm2), 1e-12);
                for (float& x : v) x = static_cast<float>(x * inv);
            }
            for (std::size_t c = 0; c < dim; ++c)
                if (!std::isfinite(v[c]))
                    throw sb::numeric_error(input_label + ":" + std::to_string(start + b + 1), "embedding",
                                            "dimension " + std::to_string(c) + " is not finite");
            if (o.format == "jsonl") lines += "{\"index\": " + std::to_string(start + b) + ", \"embedding\": [";
            for (std::size_t c = 0; c < dim; ++c) {
                if (c) lines += o.format == "jsonl" ? ", " : "\t";
                lines += format_float(v[c]);
            }
            lines += o.format == "jsonl" ? "]}\n" : "\n";
        }
        out.write(lines);
    }
    out.commit();
    return 0;
}

} // namespace starbucks_cli
