// SPDX-License-Identifier: Apache-2.0
// starbucks export: a deployable (layers, dims) sub-model as a folder that Hugging Face
// transformers and sentence-transformers load unchanged.
//
// What it does: opens a model folder (Hugging Face layout, or sentence-transformers layout with
// modules.json, whose Transformer module may live in a subfolder), validates it as `inspect`
// does, keeps the first N layers (--layers) and records a deploy width D (--dim), and writes:
//   config.json              the input's, with num_hidden_layers = N, architectures [BertModel]
//                            and, when the pairs span several widths, is_matryoshka and
//                            matryoshka_dimensions (ECOSYSTEM.md section 1)
//   model.safetensors        embeddings, layers 0..N-1 and the pooler if the input has one, F32
//                            whatever the input dtype, BertModel names (no `bert.` prefix, no
//                            task heads such as cls.* or classifier.*)
//   vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json, added_tokens.json
//                            copied when present (one of the first two is required)
//   modules.json, 1_Pooling/config.json, sentence_bert_config.json
//                            Transformer -> Pooling (mean or CLS, from the input). No Normalize
//                            module, even when the input has one (ECOSYSTEM.md decision):
//                            sentence-transformers truncates after the whole pipeline, so it
//                            would cut unit vectors; `normalize` is recorded in
//                            starbucks_config.json and Python users pass normalize_embeddings=True
//   config_sentence_transformers.json
//                            the input's keys, similarity_fn_name (the input's, else cosine)
//                            and, with --dim, truncate_dim = D: SentenceTransformer.encode then
//                            returns D dims (the installed sentence-transformers 6.3 reads the
//                            key when loading, SentenceTransformer._parse_model_config; a
//                            release without that code ignores it and returns all C dims)
//   README.md                a model card: sizes, trained pairs and the loading lines below
//   starbucks_config.json    format_version, pairs (the input's starbucks_config.json, else the
//                            one size the input was trained at: all layers, full width), pooling,
//                            normalize, method (input's, else "full"), similarity, deploy (N, D),
//                            exported_from, version; other keys of the input's file are kept.
//                            Pairs stay as trained, also those deeper than N.
// When the input lists trained pairs, an (N, D) not among them is refused unless --allow-untrained.
// AutoModel.from_pretrained(out) gets the N-layer BertModel; it knows nothing of D, so its users
// pool, keep the first D dimensions and normalise themselves (starbucks_config.json says how).
// Writing is all-or-nothing: the folder is built in a hidden sibling `.<out>.tmp-*` and renamed
// into place; an existing non-empty --out is refused unless --force (then it is replaced whole).
// Data: tests/data/tiny-bert-ner, or all-MiniLM-L6-v2 (tests/fixtures/export/README.md).
// Run: starbucks export --model tests/data/tiny-bert-ner --out /tmp/tiny-export --dim 8
// Expect: exit 0 and a summary line; bad flags exit 1 and leave nothing behind.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common.hpp"

namespace starbucks_cli {

void add_export(CLI::App& app, export_options& o) {
    auto* cmd = app.add_subcommand("export", "Write the first N layers (and a deploy width D) as a sentence-transformers / transformers folder");
    cmd->add_option("--model", o.model, "Model folder (Hugging Face or sentence-transformers layout)")->required();
    cmd->add_option("--out", o.out, "Folder to create (must not exist or be empty, unless --force)")->required();
    o.layers_flag = cmd->add_option("--layers", o.layers, "Keep only the first N layers (default: all)");
    o.dim_flag = cmd->add_option("--dim", o.dim, "Deploy width D: SentenceTransformer.encode returns the first D dims (default: all)");
    cmd->add_flag("--force", o.force, "Replace an existing non-empty --out");
    cmd->add_flag("--allow-untrained", o.allow_untrained,
                  "Export an (N, D) that the input's starbucks_config.json does not list among its trained pairs");
}

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

/// JSON files read here are small configs; larger ones are refused, not buffered.
constexpr std::uintmax_t max_json_bytes = std::uintmax_t{16} << 20;

/// @brief Parses the JSON file at `path`. @throws io_error (unreadable), format_error (too big or
/// not JSON, naming the file).
json read_json(const fs::path& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw sb::io_error(path.string(), "cannot read: " + ec.message());
    if (size > max_json_bytes)
        throw sb::format_error(path.string(), "", "has " + std::to_string(size) + " bytes; the limit is " + std::to_string(max_json_bytes));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw sb::io_error(path.string(), "cannot open for reading");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw sb::io_error(path.string(), "read failed");
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw sb::format_error(path.string(), "", std::string("not valid JSON: ") + e.what());
    }
}

bool present(const fs::path& p) {
    std::error_code ec;
    return fs::exists(p, ec);
}

/// What the input folder says beyond its BERT weights.
struct input_layout {
    fs::path transformer_dir;        ///< where config.json and model.safetensors are
    std::string pooling = "mean";    ///< mean or cls
    bool pooling_module = false;     ///< modules.json has a Pooling module (which then decides)
    bool normalize = false;          ///< a Normalize module follows pooling
    std::optional<json> sentence_bert_config;
    std::optional<json> st_config;   ///< config_sentence_transformers.json
};

/// @brief The pooling a sentence-transformers Pooling config selects. @throws unsupported_error for
/// modes other than one of mean / cls, format_error for a malformed file.
std::string pooling_of(const fs::path& path) {
    const json j = read_json(path);
    if (!j.is_object()) throw sb::format_error(path.string(), "", "is not a JSON object");
    std::vector<std::string> modes;
    if (const auto it = j.find("pooling_mode"); it != j.end()) { // sentence-transformers >= 6
        if (it->is_string()) modes.push_back(it->get<std::string>());
        else if (it->is_array())
            for (const auto& m : *it) modes.push_back(m.is_string() ? m.get<std::string>() : m.dump());
        else throw sb::format_error(path.string(), "key \"pooling_mode\"", "is neither a string nor a list");
    } else {
        const std::pair<const char*, const char*> legacy[] = {
            {"pooling_mode_cls_token", "cls"},       {"pooling_mode_mean_tokens", "mean"},     {"pooling_mode_max_tokens", "max"},
            {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"}, {"pooling_mode_weightedmean_tokens", "weightedmean"},
            {"pooling_mode_lasttoken", "lasttoken"}};
        for (const auto& [key, mode] : legacy)
            if (const auto it = j.find(key); it != j.end() && it->is_boolean() && it->get<bool>()) modes.push_back(mode);
        if (modes.empty()) modes.push_back("mean"); // what sentence-transformers assumes
    }
    if (modes.size() != 1 || (modes[0] != "mean" && modes[0] != "cls"))
        throw sb::unsupported_error(path.string(), "pooling", "only a single mean or cls pooling can be exported");
    return modes[0];
}

/// What an input starbucks_config.json contributes.
struct starbucks_side {
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    std::optional<std::string> pooling;
    std::optional<bool> normalize;
    json raw; ///< the whole object: keys export does not set (method, loss settings) are carried over
};

/// @brief The trained (layers, dim) `pairs` of a starbucks_config.json (ECOSYSTEM.md section 1),
/// each within the model, and its `pooling` (mean or cls) and `normalize` when it names them.
/// @throws format_error naming the file and the entry.
starbucks_side read_starbucks_config(const fs::path& path, const sb::nn::bert_config& c) {
    const json j = read_json(path);
    starbucks_side side;
    side.raw = j;
    if (const auto p = j.is_object() ? j.find("pooling") : j.end(); p != j.end()) {
        if (!p->is_string() || (p->get<std::string>() != "mean" && p->get<std::string>() != "cls"))
            throw sb::format_error(path.string(), "key \"pooling\"", p->dump() + " is neither \"mean\" nor \"cls\"");
        side.pooling = p->get<std::string>();
    }
    if (const auto n = j.is_object() ? j.find("normalize") : j.end(); n != j.end()) {
        if (!n->is_boolean()) throw sb::format_error(path.string(), "key \"normalize\"", n->dump() + " is not true or false");
        side.normalize = n->get<bool>();
    }
    const auto it = j.is_object() ? j.find("pairs") : j.end();
    if (it == j.end() || !it->is_array() || it->empty())
        throw sb::format_error(path.string(), "key \"pairs\"", "must be a non-empty list of [layers, dim] pairs");
    auto& pairs = side.pairs;
    for (std::size_t i = 0; i < it->size(); ++i) {
        const auto& p = (*it)[i];
        const bool ok = p.is_array() && p.size() == 2 && p[0].is_number_unsigned() && p[1].is_number_unsigned() &&
                        p[0].get<std::uint64_t>() >= 1 && p[0].get<std::uint64_t>() <= c.num_hidden_layers &&
                        p[1].get<std::uint64_t>() >= 1 && p[1].get<std::uint64_t>() <= c.hidden_size;
        if (!ok)
            throw sb::format_error(path.string(), "pairs[" + std::to_string(i) + "]",
                                   p.dump() + " is not [layers, dim] within 1.." + std::to_string(c.num_hidden_layers) + " x 1.." +
                                       std::to_string(c.hidden_size));
        pairs.emplace_back(p[0].get<std::size_t>(), p[1].get<std::size_t>());
    }
    return side;
}

/// @brief Reads modules.json (when present) and the side files of `dir`. @throws format_error /
/// unsupported_error for a modules.json this exporter cannot reproduce faithfully.
input_layout read_layout(const fs::path& dir) {
    input_layout in;
    in.transformer_dir = dir;
    const fs::path modules = dir / "modules.json";
    if (present(modules)) {
        const json j = read_json(modules);
        if (!j.is_array()) throw sb::format_error(modules.string(), "", "is not a list of modules");
        bool transformer = false;
        for (const auto& m : j) {
            if (!m.is_object() || !m.contains("type") || !m["type"].is_string())
                throw sb::format_error(modules.string(), m.dump(), "a module needs a string \"type\"");
            const std::string type = m["type"].get<std::string>();
            const std::string path = m.contains("path") && m["path"].is_string() ? m["path"].get<std::string>() : "";
            const std::string kind = type.substr(type.rfind('.') + 1);
            if (path.find("..") != std::string::npos || (!path.empty() && path.front() == '/'))
                throw sb::format_error(modules.string(), "module " + type, "path \"" + path + "\" leaves the model folder");
            if (kind == "Transformer" && !transformer) {
                in.transformer_dir = path.empty() ? dir : dir / path;
                transformer = true;
            } else if (kind == "Pooling") {
                in.pooling = pooling_of(dir / path / "config.json");
                in.pooling_module = true;
            } else if (kind == "Normalize") {
                in.normalize = true;
            } else {
                throw sb::unsupported_error(modules.string(), "module " + type,
                                            "only Transformer, Pooling and Normalize pipelines can be exported");
            }
        }
        if (!transformer) throw sb::format_error(modules.string(), "", "has no Transformer module");
    }
    for (const fs::path& base : {dir, in.transformer_dir}) {
        if (!in.sentence_bert_config && present(base / "sentence_bert_config.json"))
            in.sentence_bert_config = read_json(base / "sentence_bert_config.json");
    }
    if (present(dir / "config_sentence_transformers.json")) {
        in.st_config = read_json(dir / "config_sentence_transformers.json");
        if (!in.st_config->is_object())
            throw sb::format_error((dir / "config_sentence_transformers.json").string(), "", "is not a JSON object");
    }
    return in;
}

/// @brief A value of flag `name` must lie in [1, limit]. @throws usage_error naming the range.
std::size_t in_range(const char* name, std::int64_t value, std::size_t limit, const std::string& why) {
    if (value < 1 || static_cast<std::uint64_t>(value) > limit)
        throw sb::usage_error(name, std::to_string(value) + " is out of range; " + why + " it must be in 1.." + std::to_string(limit));
    return static_cast<std::size_t>(value);
}

/// True when `inner` is `outer` or lies inside it (both made absolute and normalised).
bool contains_path(const fs::path& outer, const fs::path& inner) {
    std::error_code ec;
    const fs::path a = fs::weakly_canonical(fs::absolute(outer), ec), b = fs::weakly_canonical(fs::absolute(inner), ec);
    auto ia = a.begin(), ib = b.begin();
    for (; ia != a.end() && ib != b.end(); ++ia, ++ib)
        if (*ia != *ib) break;
    // Trailing empty components (a path ending in /) do not count.
    for (; ia != a.end(); ++ia)
        if (!ia->empty()) return false;
    return true;
}

/// A hidden folder next to the destination; removed (with its contents) unless released.
class temp_folder {
public:
    explicit temp_folder(const fs::path& destination) {
        const fs::path parent = destination.parent_path().empty() ? fs::path(".") : destination.parent_path();
        static std::atomic<std::uint64_t> counter{0};
        for (int attempt = 0; attempt < 100; ++attempt) {
            path_ = parent / ("." + destination.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                              std::to_string(counter.fetch_add(1)));
            std::error_code ec;
            if (fs::create_directory(path_, ec)) return;
            if (ec) throw sb::io_error(parent.string(), "cannot create a temporary folder: " + ec.message());
        }
        throw sb::io_error(parent.string(), "cannot find a free temporary folder name");
    }
    temp_folder(const temp_folder&) = delete;
    temp_folder& operator=(const temp_folder&) = delete;
    ~temp_folder() {
        if (path_.empty()) return;
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const noexcept { return path_; }
    void release() noexcept { path_.clear(); }

private:
    fs::path path_;
};

void write_text(const fs::path& path, const std::string& text) {
    sb::io::atomic_file f(path);
    f.write(std::string_view(text));
    f.commit();
}

void write_json(const fs::path& path, const json& j) { write_text(path, j.dump(2) + "\n"); }

void copy_into(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    if (!fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec))
        throw sb::io_error(to.string(), "cannot copy " + from.string() + ": " + ec.message());
}

/// Where the weights come from under either naming (`bert.` prefix or none).
std::optional<std::string> stored_name(const sb::io::safetensors_file& w, const std::string& name) {
    if (w.contains("bert." + name)) return "bert." + name;
    if (w.contains(name)) return name;
    return std::nullopt;
}

/// The model card: what was exported and the loading lines (the quality grid and heatmap of
/// ECOSYSTEM.md arrive with evaluation).
std::string model_card(const std::string& name, std::size_t layers, std::size_t dim, std::size_t width, const std::string& pooling,
                       bool normalize, const std::vector<std::pair<std::size_t, std::size_t>>& pairs) {
    std::string pair_list;
    for (const auto& [l, d] : pairs) pair_list += (pair_list.empty() ? "" : ", ") + ("(" + std::to_string(l) + ", " + std::to_string(d) + ")");
    const std::string n = std::to_string(layers), d = std::to_string(dim);
    std::string card = "---\nlibrary_name: sentence-transformers\npipeline_tag: sentence-similarity\ntags:\n- sentence-transformers\n"
                       "- feature-extraction\n- matryoshka\n- starbucks\n---\n\n# " + name + "\n\n"
                       "A BERT encoder exported by `starbucks export`: the first " + n + " layers, " + d + " of " + std::to_string(width) +
                       " dimensions, " + pooling + " pooling" + (normalize ? ", L2-normalised after truncation" : "") +
                       ". Trained (layers, dims) pairs: " + pair_list + " (`starbucks_config.json`).\n\n"
                       "## sentence-transformers\n\n```python\nfrom sentence_transformers import SentenceTransformer\n\n"
                       "model = SentenceTransformer(\"path/to/this/folder\")" +
                       (dim < width ? "  # encode returns " + d + " dims: truncate_dim in config_sentence_transformers.json" : std::string()) + "\n"
                       "embeddings = model.encode(sentences" + (normalize ? ", normalize_embeddings=True" : "") + ")\n```\n\n"
                       "## transformers\n\n```python\nimport torch\nfrom transformers import AutoModel, AutoTokenizer\n\n"
                       "tokenizer = AutoTokenizer.from_pretrained(\"path/to/this/folder\")\n"
                       "model = AutoModel.from_pretrained(\"path/to/this/folder\")  # " + n + " layers\n"
                       "batch = tokenizer(sentences, padding=True, truncation=True, return_tensors=\"pt\")\n"
                       "h = model(**batch).last_hidden_state\n";
    if (pooling == "cls") card += "v = h[:, 0, :" + d + "]\n";
    else card += "m = batch[\"attention_mask\"].unsqueeze(-1).to(h.dtype)\nv = ((h * m).sum(1) / m.sum(1))[:, :" + d + "]\n";
    if (normalize) card += "v = torch.nn.functional.normalize(v, dim=-1)\n";
    return card + "```\n";
}

void fsync_directory(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

} // namespace

int run_export(const export_options& o) {
    // Everything that can be refused is checked before the disk is touched.
    const fs::path src = o.model;
    require_directory(src);
    input_layout layout = read_layout(src);
    const sb::nn::bert_config config = read_config(layout.transformer_dir);
    const std::size_t layers = o.layers_flag->count()
                                   ? in_range("--layers", o.layers, config.num_hidden_layers,
                                              "the model has " + std::to_string(config.num_hidden_layers) + " layer(s),")
                                   : config.num_hidden_layers;
    const std::size_t dim = o.dim_flag->count()
                                ? in_range("--dim", o.dim, config.hidden_size, "hidden_size is " + std::to_string(config.hidden_size) + ",")
                                : config.hidden_size;
    // Trained pairs: the input's, else the one size it was trained at (all layers, full width).
    std::vector<std::pair<std::size_t, std::size_t>> trained{{config.num_hidden_layers, config.hidden_size}};
    json sbc = json::object();
    if (present(src / "starbucks_config.json")) {
        const starbucks_side side = read_starbucks_config(src / "starbucks_config.json", config);
        trained = side.pairs;
        sbc = side.raw;
        // A Pooling module is what sentence-transformers runs; without one, the recorded pooling.
        if (!layout.pooling_module && side.pooling) layout.pooling = *side.pooling;
        // Our own exports record normalize here rather than as a Normalize module.
        if (side.normalize) layout.normalize = layout.normalize || *side.normalize;
        const bool listed = std::find(trained.begin(), trained.end(), std::pair{layers, dim}) != trained.end();
        if (!listed && !o.allow_untrained)
            throw sb::usage_error("--layers/--dim", "(" + std::to_string(layers) + ", " + std::to_string(dim) + ") is not a trained pair of " +
                                                        (src / "starbucks_config.json").string() + "; pass --allow-untrained to export it anyway");
    }
    fs::path out = fs::path(o.out).lexically_normal();
    if (!out.has_filename() && out.has_parent_path()) out = out.parent_path(); // "dir/" names dir
    if (out.empty() || out.filename().empty() || out.filename() == "." || out.filename() == "..")
        throw sb::usage_error("--out", "\"" + o.out + "\" does not name a folder to create");
    if (contains_path(out, src)) throw sb::usage_error("--out", "\"" + o.out + "\" would replace the model folder itself");
    std::error_code ec;
    const auto out_status = fs::symlink_status(out, ec);
    bool replace = false;
    if (fs::exists(out_status)) {
        if (!fs::is_directory(out_status)) throw sb::usage_error("--out", "\"" + o.out + "\" exists and is not a folder");
        if (!fs::is_empty(out, ec)) {
            if (!o.force) throw sb::usage_error("--out", "\"" + o.out + "\" exists and is not empty; pass --force to replace it");
            replace = true;
        }
    }
    const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
    if (!fs::is_directory(parent, ec)) throw sb::io_error(parent.string(), "the folder that would hold --out does not exist");

    // Validate the whole model (header, dtypes, names, shapes) before writing anything.
    model_folder m = open_model(layout.transformer_dir);
    const fs::path tdir = layout.transformer_dir;
    const bool has_vocab = present(tdir / "vocab.txt"), has_tokenizer_json = present(tdir / "tokenizer.json");
    if (!has_vocab && !has_tokenizer_json)
        throw sb::model_error(tdir.string(), "tokenizer", "neither vocab.txt nor tokenizer.json is present; an exported model needs one");
    // The similarity the model was trained for (starbucks_config.json: dot after retrieval
    // training), else the sentence-transformers folder's, else cosine.
    const std::string similarity = sbc.contains("similarity") && sbc["similarity"].is_string() ? sbc["similarity"].get<std::string>()
                                   : layout.st_config && layout.st_config->contains("similarity_fn_name") &&
                                           (*layout.st_config)["similarity_fn_name"].is_string()
                                       ? (*layout.st_config)["similarity_fn_name"].get<std::string>()
                                       : "cosine";

    temp_folder tmp(out);
    const fs::path t = tmp.path();

    // config.json: the input's keys, N layers, a plain encoder.
    json cfg = read_json(tdir / "config.json");
    cfg["num_hidden_layers"] = layers;
    cfg["architectures"] = json::array({"BertModel"});
    std::vector<std::size_t> dims;
    for (const auto& [l, d] : trained)
        if (std::find(dims.begin(), dims.end(), d) == dims.end()) dims.push_back(d);
    std::sort(dims.begin(), dims.end(), std::greater<>());
    if (dims.size() > 1) { // trained at several widths: what serving engines check before `dimensions`
        cfg["is_matryoshka"] = true;
        cfg["matryoshka_dimensions"] = dims;
    } else {
        cfg.erase("is_matryoshka");
        cfg.erase("matryoshka_dimensions");
    }
    write_json(t / "config.json", cfg);

    // model.safetensors: what the N-layer encoder uses (values as loaded: F32), plus the pooler.
    std::vector<sb::io::tensor_entry> entries;
    for (const auto& entry : m.encoder.parameters()) { // not a structured binding: clang 14 cannot capture one in the lambda
        const std::string& name = entry.first;
        if (name.rfind("encoder.layer.", 0) == 0) {
            const std::size_t index = std::stoul(name.substr(14));
            if (index >= layers) continue;
        }
        std::visit([&](const auto& v) { entries.push_back(sb::io::make_entry(name, v.value())); }, entry.second);
    }
    const std::size_t c = config.hidden_size;
    if (const auto w = stored_name(m.weights, "pooler.dense.weight"), b = stored_name(m.weights, "pooler.dense.bias"); w && b) {
        entries.push_back(sb::io::make_entry("pooler.dense.weight", m.weights.read<float, sb::dextents<2>>(*w, sb::dextents<2>(c, c))));
        entries.push_back(sb::io::make_entry("pooler.dense.bias", m.weights.read<float, sb::dextents<1>>(*b, sb::dextents<1>(c))));
    }
    sb::io::save_safetensors(t / "model.safetensors", entries);

    // Tokenizer files, as they are.
    for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"})
        if (present(tdir / f)) copy_into(tdir / f, t / f);

    // The sentence-transformers pipeline.
    json modules = json::array();
    modules.push_back({{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}});
    modules.push_back({{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}});
    // No Normalize module (ECOSYSTEM.md: sentence-transformers truncates after the pipeline, so a
    // Normalize there would cut unit vectors). `normalize` goes to starbucks_config.json instead.
    write_json(t / "modules.json", modules);
    fs::create_directory(t / "1_Pooling");
    write_json(t / "1_Pooling" / "config.json", json{{"word_embedding_dimension", c},
                                                      {"pooling_mode_cls_token", layout.pooling == "cls"},
                                                      {"pooling_mode_mean_tokens", layout.pooling == "mean"},
                                                      {"pooling_mode_max_tokens", false},
                                                      {"pooling_mode_mean_sqrt_len_tokens", false}});
    write_json(t / "sentence_bert_config.json",
               layout.sentence_bert_config ? *layout.sentence_bert_config
                                           : json{{"max_seq_length", std::min<std::size_t>(config.max_position_embeddings, 512)},
                                                  {"do_lower_case", false}});
    json st = layout.st_config ? *layout.st_config : json::object();
    st["similarity_fn_name"] = similarity;
    if (o.dim_flag->count()) st["truncate_dim"] = dim;
    else st.erase("truncate_dim");
    write_json(t / "config_sentence_transformers.json", st);

    json pairs = json::array();
    for (const auto& [l, d] : trained) pairs.push_back(json::array({l, d}));
    sbc["format_version"] = 1;
    sbc["pairs"] = pairs;
    sbc["pooling"] = layout.pooling;
    sbc["normalize"] = layout.normalize;
    if (!sbc.contains("method")) sbc["method"] = "full"; // a model trained at one size only
    sbc["similarity"] = similarity;
    sbc["deploy"] = json{{"layers", layers}, {"dim", dim}};
    sbc["exported_from"] = json{{"num_hidden_layers", config.num_hidden_layers}, {"hidden_size", config.hidden_size}};
    sbc["version"] = STARBUCKS_VERSION_STRING;
    write_json(t / "starbucks_config.json", sbc);
    write_text(t / "README.md", model_card(out.filename().string(), layers, dim, c, layout.pooling, layout.normalize, trained));
    fsync_directory(t);

    // Into place: rename(2) is atomic; a replaced folder is moved aside first and removed after.
    if (replace) {
        temp_folder old(out); // reserves a free name, then the old folder is renamed over it (empty)
        fs::rename(out, old.path(), ec);
        if (ec) throw sb::io_error(out.string(), "cannot move the existing folder aside: " + ec.message());
        fs::rename(t, out, ec);
        if (ec) {
            std::error_code back;
            fs::rename(old.path(), out, back);
            old.release();
            throw sb::io_error(out.string(), "cannot rename the new folder into place: " + ec.message());
        }
    } else {
        fs::rename(t, out, ec);
        if (ec) throw sb::io_error(out.string(), "cannot rename the new folder into place: " + ec.message());
    }
    tmp.release();
    fsync_directory(parent);
    if (!o.quiet)
        std::printf("exported %s -> %s: %zu of %zu layers, deploy dim %zu of %zu, %s pooling%s, %zu tensors\n", src.string().c_str(),
                out.string().c_str(), layers, config.num_hidden_layers, dim, config.hidden_size, layout.pooling.c_str(),
                layout.normalize ? " + normalize" : "", entries.size());
    return 0;
}

} // namespace starbucks_cli

namespace starbucks_cli {

void export_model(const std::filesystem::path& src, const std::filesystem::path& out, std::size_t layers) {
    // Through the flag parser, so the checks and defaults are exactly those of `starbucks export`.
    CLI::App app;
    export_options o;
    add_export(app, o);
    // --allow-untrained: this writes the trained model at full width, not a deploy pair, and
    // (layers, hidden_size) need not be among its pairs (e.g. one `separate` pair of width < C).
    std::vector<std::string> args{"export", "--model", src.string(), "--out", out.string(), "--layers", std::to_string(layers), "--force",
                                  "--allow-untrained"};
    std::reverse(args.begin(), args.end()); // CLI11 takes the arguments last first
    app.parse(args);
    o.quiet = true;
    run_export(o);
}

} // namespace starbucks_cli
