// SPDX-License-Identifier: Apache-2.0
// starbucks eval sts: the quality of every (layers, dims) size of a model on STS data.
//
// What it does: Spearman × 100 of cosine similarity against the gold scores (METHOD.md §5), for
// the model's trained pairs (its starbucks_config.json), a --pairs list, or the whole layers × dims
// --grid; the encoder runs once per batch for all sizes. A model trained with --strategy separate
// is scored pair by pair with its own sub-model. Built-in data names: stsb (STS-B test), sts12 ..
// sts16, sickr; --all-sts runs all 7 and adds their average.
// Data: STS TSV/CSV files, or the bundled sets in examples/data (STARBUCKS_DATA_DIR overrides).
// Run: starbucks eval sts --model runs/srl --data stsb --grid --out runs/srl/eval
// Expect: a table per data set on stdout; with --out, report.json, results.csv and one SVG heatmap
// per data set (atomic writes).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <starbucks/data/data.hpp>
#include <starbucks/eval/report.hpp>
#include <starbucks/eval/sts.hpp>

#include "common.hpp"
#include "runtime.hpp"

namespace starbucks_cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

void add_eval(CLI::App& app, eval_options& o) {
    auto* ev = app.add_subcommand("eval", "Evaluate every (layers, dims) size of a model");
    ev->require_subcommand(1);
    auto* cmd = ev->add_subcommand("sts", "Spearman x 100 of cosine similarity on STS data, per size or on the whole grid");
    cmd->add_option("--model", o.model, "Model folder (trained by starbucks train, or any BERT folder)")->required();
    cmd->add_option("--data", o.data, "STS file(s) or built-in names: stsb, sts12, sts13, sts14, sts15, sts16, sickr");
    cmd->add_flag("--all-sts", o.all_sts, "The 7 STS sets of METHOD.md §5 and their average");
    cmd->add_option("--pairs", o.pairs, "layers:dim sizes (default: the model's trained pairs)");
    cmd->add_flag("--grid", o.grid, "Every layer 1..L with every dim of the pair list");
    cmd->add_option("--out", o.out, "Folder for report.json, results.csv and SVG heatmaps");
    cmd->add_option("--batch-size", o.batch_size, "Pairs per forward")->capture_default_str();
    cmd->add_option("--max-length", o.max_length, "Tokens per text, [CLS] and [SEP] included")->capture_default_str();
    cmd->add_option("--pooling", o.pooling, "mean or cls (default: the model's)")->check(CLI::IsMember({"mean", "cls"}));
    cmd->add_option("--backend", o.backend, "reference, cpu_eigen or cpu_onednn (default: the fastest compiled in)");
    cmd->add_option("--threads", o.threads, "Threads of the CPU backends");
    cmd->add_flag("--skip-bad-rows", o.skip_bad_rows, "Skip malformed rows (counted) instead of stopping");
}

namespace {

struct builtin_set {
    const char* name;
    const char* file;
    double score_min, score_max;
};
constexpr builtin_set builtin_sets[] = {{"stsb", "stsb-test.tsv", 0, 5},  {"sts12", "sts12.tsv", 0, 5}, {"sts13", "sts13.tsv", 0, 5},
                                        {"sts14", "sts14.tsv", 0, 5},    {"sts15", "sts15.tsv", 0, 5}, {"sts16", "sts16.tsv", 0, 5},
                                        {"sickr", "sickr-test.tsv", 1, 5}};

fs::path data_dir() {
    if (const char* env = std::getenv("STARBUCKS_DATA_DIR"); env && *env) return env;
    return STARBUCKS_EXAMPLES_DATA;
}

/// A data set to score: its name in the report and its rows.
struct named_set {
    std::string name;
    std::vector<sb::data::sts_pair> rows;
};

named_set load_set(const std::string& spec, bool skip_bad_rows) {
    sb::data::read_options ro;
    ro.skip_bad_rows = skip_bad_rows;
    for (const auto& b : builtin_sets)
        if (spec == b.name) {
            ro.score_min = b.score_min;
            ro.score_max = b.score_max;
            return {b.name, sb::data::read_sts((data_dir() / b.file).string(), ro)};
        }
    std::error_code ec;
    if (!fs::exists(spec, ec))
        throw sb::usage_error("--data", "\"" + spec + "\" is neither a file nor a built-in set (stsb, sts12, sts13, sts14, sts15, sts16, sickr)");
    return {fs::path(spec).stem().string(), sb::data::read_sts(spec, ro)};
}

/// The sizes a model was trained at, from its starbucks_config.json; empty when it has none.
std::vector<sb::matryoshka::size_pair> trained_pairs(const json& sbc) {
    std::vector<sb::matryoshka::size_pair> out;
    if (sbc.contains("pairs") && sbc["pairs"].is_array())
        for (const auto& p : sbc["pairs"]) {
            if (!p.is_array() || p.size() != 2 || !p[0].is_number_unsigned() || !p[1].is_number_unsigned())
                throw sb::format_error("starbucks_config.json", "pairs entry " + p.dump(), "is not [layers, dim]");
            out.push_back({p[0].get<std::size_t>(), p[1].get<std::size_t>()});
        }
    return out;
}

template <class B>
std::vector<sb::eval::sts_result> score_on(const fs::path& model_dir, const named_set& set, const std::vector<sb::matryoshka::size_pair>& sizes,
                                           const sb::eval::sts_options& so) {
    model_folder_t<B> m = open_model_on<B>(model_dir.string());
    const auto tokenizer = sb::text::wordpiece::load(m.tokenizer_dir);
    std::vector<sb::eval::scored_pair> pairs;
    for (const auto& r : set.rows) pairs.push_back({r.text1, r.text2, r.score});
    return sb::eval::evaluate_sts(m.encoder, tokenizer, pairs, sizes, so);
}

} // namespace

int run_eval_sts(const eval_options& o) {
    const fs::path model = o.model;
    require_directory(model);
    const json sbc = read_starbucks_config_json(model);
    // A --strategy separate run holds one model per pair: the widths come from any of them.
    const fs::path config_dir = sbc.contains("separate_models") && sbc["separate_models"].is_object() && !sbc["separate_models"].empty()
                                    ? model / sbc["separate_models"].begin()->get<std::string>()
                                    : model;
    const sb::nn::bert_config config = read_config(transformer_dir(config_dir));
    // Which sizes: --pairs (any sizes), else the trained pairs, else the default list for this model.
    std::vector<sb::matryoshka::size_pair> sizes =
        !o.pairs.empty()            ? sb::matryoshka::pair_list::parse_sizes(o.pairs)
        : !trained_pairs(sbc).empty() ? trained_pairs(sbc)
                                      : sb::matryoshka::default_pairs(config.num_hidden_layers, config.hidden_size).values();
    const bool separate = sbc.contains("separate_models");
    if (o.grid) {
        if (separate) throw sb::usage_error("--grid", "a --strategy separate run has one model per pair; evaluate its pairs without --grid");
        std::vector<std::size_t> dims;
        for (const auto& p : sizes)
            if (std::find(dims.begin(), dims.end(), p.dim) == dims.end()) dims.push_back(p.dim);
        if (std::find(dims.begin(), dims.end(), config.hidden_size) == dims.end()) dims.push_back(config.hidden_size);
        std::sort(dims.begin(), dims.end());
        sizes = sb::eval::grid(config.num_hidden_layers, dims);
    }
    std::vector<std::string> specs = o.data;
    if (o.all_sts)
        for (const auto& b : builtin_sets) specs.push_back(b.name);
    if (specs.empty()) throw sb::usage_error("--data", "name at least one data set (a file or stsb, sts12..sts16, sickr), or pass --all-sts");

    sb::eval::sts_options so;
    so.batch_size = positive("--batch-size", o.batch_size);
    so.max_length = std::min<std::size_t>(positive("--max-length", o.max_length), config.max_position_embeddings);
    const std::string pooling = !o.pooling.empty() ? o.pooling : sbc.value("pooling", std::string(model_pooling(model)));
    so.pool = pooling == "cls" ? sb::eval::pooling::cls : sb::eval::pooling::mean;
    const std::string backend = choose_backend(o.backend, o.threads);

    std::vector<sb::eval::report_row> rows;
    for (const auto& spec : specs) {
        const named_set set = load_set(spec, o.skip_bad_rows);
        std::vector<sb::eval::sts_result> results;
        with_backend(backend, [&]<class B>(std::type_identity<B>) {
            if (!separate) {
                results = score_on<B>(model, set, sizes, so);
                return;
            }
            for (const auto& p : sizes) { // each pair with its own model, cut to d
                const std::string name = sb::matryoshka::label(p);
                if (!sbc["separate_models"].contains(name))
                    throw sb::usage_error("--pairs", "the separate run has no model for " + sb::matryoshka::to_string(p));
                const auto r = score_on<B>(model / sbc["separate_models"][name].get<std::string>(), set, {p}, so);
                results.push_back(r.front());
            }
        });
        for (const auto& r : results) rows.push_back({set.name, r.size, r.spearman, r.pearson});
        std::printf("%s\n", sb::eval::report_table(rows, set.name).c_str());
    }
    if (specs.size() > 1) { // the average over the data sets, per size
        const std::size_t per_set = rows.size() / specs.size();
        for (std::size_t k = 0; k < per_set; ++k) {
            double s = 0, p = 0;
            for (std::size_t d = 0; d < specs.size(); ++d) s += rows[d * per_set + k].score, p += rows[d * per_set + k].secondary;
            rows.push_back({"average", rows[k].size, s / double(specs.size()), p / double(specs.size())});
        }
        std::printf("%s\n", sb::eval::report_table(rows, "average").c_str());
    }
    std::fflush(stdout);
    if (!o.out.empty()) {
        const fs::path out = o.out;
        std::error_code ec;
        fs::create_directories(out, ec);
        if (ec) throw sb::io_error(out.string(), "cannot create the report folder: " + ec.message());
        const json extra{{"model", model.string()}, {"command", command_line()}, {"metric", "spearman x 100 of cosine similarity"},
                         {"pooling", pooling}};
        write_text_atomically(out / "report.json", sb::eval::report_json(rows, extra).dump(2) + "\n");
        write_text_atomically(out / "results.csv", sb::eval::report_csv(rows));
        std::vector<std::string> sets = specs.size() > 1 ? std::vector<std::string>{"average"} : std::vector<std::string>{};
        for (const auto& r : rows)
            if (std::find(sets.begin(), sets.end(), r.dataset) == sets.end()) sets.push_back(r.dataset);
        for (const auto& s : sets)
            write_text_atomically(out / ("heatmap-" + s + ".svg"),
                                  sb::eval::report_svg(rows, s, s + ": Spearman x 100, " + model.filename().string()));
        std::fprintf(stderr, "eval: report written to %s\n", out.string().c_str());
    }
    return 0;
}

} // namespace starbucks_cli
