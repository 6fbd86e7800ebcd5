// SPDX-License-Identifier: Apache-2.0
// starbucks eval sts|retrieval: the quality of every (layers, dims) size of a model.
//
// eval sts: Spearman × 100 of cosine similarity against the gold scores (METHOD.md §5), for
// the model's trained pairs (its starbucks_config.json), a --pairs list, or the whole layers × dims
// --grid; the encoder runs once per batch for all sizes. A model trained with --strategy separate
// is scored pair by pair with its own sub-model. Built-in data names: stsb (STS-B test), sts12 ..
// sts16, sickr; --all-sts runs all 7 and adds their average.
// Data: STS TSV/CSV files, or the bundled sets in examples/data (STARBUCKS_DATA_DIR overrides).
// Run: starbucks eval sts --model runs/srl --data stsb --grid --out runs/srl/eval
// Expect: a table per data set on stdout; with --out, report.json, results.csv and one SVG heatmap
// per data set (atomic writes).
//
// eval retrieval: exhaustive search of a corpus at every size in one pass (METHOD.md §5), scored as
// trec_eval scores (nDCG@10, MRR@10, Recall@100/1000, MAP). Data: BEIR corpus/queries JSONL or
// id/text TSV, BEIR or TREC qrels; built-in names scifact (BEIR SciFact test) and dl19-mini.
// Pooling and similarity follow the model (starbucks_config.json, else its sentence-transformers
// modules: MiniLM is mean + cosine; else CLS + dot as Starbucks retrieval models).
// Run: starbucks eval retrieval --model DIR --data scifact --grid --out runs/eval-scifact
// Expect: nDCG@10 and MRR@10 tables on stdout; with --out, report.json, results.csv, heatmaps and
// runs/<set>-n{n}_d{d}.run, one TREC run file per size.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>
#include <starbucks/data/data.hpp>
#include <starbucks/eval/report.hpp>
#include <starbucks/eval/retrieval.hpp>
#include <starbucks/eval/sts.hpp>
#include <starbucks/io/st_folder.hpp>

#include "common.hpp"
#include "runtime.hpp"

namespace starbucks_cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

void add_eval(CLI::App& app, eval_options& o, eval_retrieval_options& r) {
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
    cmd->add_option("--backend,--device", o.backend, "reference, cpu_eigen, cpu_onednn or cuda (default: the fastest CPU backend compiled in)");
    cmd->add_option("--threads", o.threads, "Threads of the CPU backends");
    add_dtype_flag(cmd, o.dtype);
    cmd->add_flag("--skip-bad-rows", o.skip_bad_rows, "Skip malformed rows (counted) instead of stopping");

    auto* ret = ev->add_subcommand("retrieval", "Exhaustive search at every size: nDCG@10, MRR@10, Recall@100/1000, MAP as trec_eval computes them");
    ret->add_option("--model", r.model, "Model folder (trained by starbucks train, or any BERT folder)")->required();
    ret->add_option("--data", r.data, "Built-in set: scifact (BEIR SciFact test) or dl19-mini (TREC DL19 queries, MS MARCO slice)")
        ->check(CLI::IsMember({"scifact", "dl19-mini"}));
    ret->add_option("--corpus", r.corpus, "Documents: BEIR corpus.jsonl (_id, title, text) or id/text TSV");
    ret->add_option("--queries", r.queries, "Queries: BEIR queries.jsonl or id/text TSV");
    ret->add_option("--qrels", r.qrels, "Judgments: BEIR qrels TSV (query-id corpus-id score) or TREC qrels");
    ret->add_option("--pairs", r.pairs, "layers:dim sizes (default: the model's trained pairs)");
    ret->add_flag("--grid", r.grid, "Every layer 1..L with every dim of the pair list");
    ret->add_option("--out", r.out, "Folder for report.json, results.csv, SVG heatmaps and runs/ (one TREC run file per size)");
    ret->add_option("--depth", r.depth, "Documents ranked per query")->capture_default_str();
    ret->add_option("--batch-size", r.batch_size, "Texts per forward")->capture_default_str();
    ret->add_option("--query-max-length,--query_max_len", r.query_max_length, "Tokens per query (default 64, capped by the model)");
    ret->add_option("--passage-max-length,--passage_max_len", r.passage_max_length,
                    "Tokens per document (default: the folder's max_seq_length, else 256; capped by the model)");
    ret->add_option("--pooling", r.pooling, "cls or mean (default: the model's)")->check(CLI::IsMember({"mean", "cls"}));
    ret->add_option("--similarity", r.similarity, "dot or cosine (default: the model's)")->check(CLI::IsMember({"dot", "cosine"}));
    ret->add_option("--query-prefix", r.query_prefix, "Text put before every query (e.g. \"query: \")");
    ret->add_option("--passage-prefix", r.passage_prefix, "Text put before every document");
    ret->add_option("--rel-level", r.rel_level, "Grade counted as relevant by MRR, Recall and MAP (trec_eval -l; default 1, 2 for dl19-mini)");
    ret->add_option("--save-embeddings", r.save_embeddings, "Keep the corpus vectors in this folder (reuse them with --embeddings)");
    ret->add_option("--embeddings", r.embeddings, "Search corpus vectors saved by --save-embeddings instead of encoding the corpus");
    ret->add_flag("--per-query", r.per_query, "With --out: per_query/<set>-<size>.tsv, every query's nDCG@10, MRR@10, recall and AP (as trec_eval -q)");
    ret->add_flag("--all-queries", r.all_queries, "Rank every query of --queries, judged or not (default: the judged ones)");
    ret->add_option("--backend,--device", r.backend, "reference, cpu_eigen, cpu_onednn or cuda (default: the fastest CPU backend compiled in)");
    ret->add_option("--threads", r.threads, "Threads of the CPU backends");
    add_dtype_flag(ret, r.dtype);
    ret->add_flag("--skip-bad-rows", r.skip_bad_rows, "Skip malformed corpus or query rows (counted) instead of stopping");
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

/// The sizes to evaluate: --pairs, else the trained pairs, else the default list; --grid widens
/// them to every layer with every dim of that list (and the full width).
std::vector<sb::matryoshka::size_pair> chosen_sizes(const std::string& pairs_flag, bool grid, const json& sbc, const sb::nn::bert_config& config) {
    std::vector<sb::matryoshka::size_pair> sizes =
        !pairs_flag.empty()            ? sb::matryoshka::pair_list::parse_sizes(pairs_flag)
        : !trained_pairs(sbc).empty() ? trained_pairs(sbc)
                                      : sb::matryoshka::default_pairs(config.num_hidden_layers, config.hidden_size).values();
    if (!grid) return sizes;
    std::vector<std::size_t> dims;
    for (const auto& p : sizes)
        if (std::find(dims.begin(), dims.end(), p.dim) == dims.end()) dims.push_back(p.dim);
    if (std::find(dims.begin(), dims.end(), config.hidden_size) == dims.end()) dims.push_back(config.hidden_size);
    std::sort(dims.begin(), dims.end());
    return sb::eval::grid(config.num_hidden_layers, dims);
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
    const sb::matmul_precision_scope products(matmul_precision_of(o.dtype));
    const fs::path model = o.model;
    require_directory(model);
    const json sbc = read_starbucks_config_json(model);
    // A --strategy separate run holds one model per pair: the widths come from any of them.
    const fs::path config_dir = sbc.contains("separate_models") && sbc["separate_models"].is_object() && !sbc["separate_models"].empty()
                                    ? model / sbc["separate_models"].begin()->get<std::string>()
                                    : model;
    const sb::nn::bert_config config = read_config(transformer_dir(config_dir));
    const bool separate = sbc.contains("separate_models");
    if (o.grid && separate)
        throw sb::usage_error("--grid", "a --strategy separate run has one model per pair; evaluate its pairs without --grid");
    const std::vector<sb::matryoshka::size_pair> sizes = chosen_sizes(o.pairs, o.grid, sbc, config);
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

namespace {

/// The files of one retrieval evaluation and its name in the report.
struct retrieval_set {
    std::string name, corpus, queries, qrels;
    int rel_level = 1;
};

retrieval_set resolve_set(const eval_retrieval_options& o) {
    retrieval_set s;
    if (!o.data.empty()) {
        if (!o.corpus.empty() || !o.queries.empty() || !o.qrels.empty())
            throw sb::usage_error("--data", "names a built-in set; leave out --corpus, --queries and --qrels");
        const fs::path dir = data_dir() / (o.data == "scifact" ? "beir-scifact" : "msmarco-dl19-mini");
        s = {o.data, (dir / "corpus.jsonl").string(), (dir / "queries.jsonl").string(), (dir / "qrels" / "test.tsv").string(),
             o.data == "dl19-mini" ? 2 : 1};
    } else {
        if (o.corpus.empty() || o.queries.empty() || o.qrels.empty())
            throw sb::usage_error("--corpus", "give --corpus, --queries and --qrels, or a built-in --data scifact|dl19-mini");
        s = {fs::path(o.corpus).parent_path().filename().string(), o.corpus, o.queries, o.qrels, 1};
        if (s.name.empty()) s.name = fs::path(o.corpus).stem().string();
    }
    if (o.rel_level != 0) s.rel_level = static_cast<int>(o.rel_level);
    return s;
}

/// The similarity a model was trained or published with: starbucks_config.json, else the
/// sentence-transformers folder's (similarity_fn_name, cosine by default), else dot (a plain BERT
/// folder evaluated as Starbucks retrieval does).
std::string model_similarity(const fs::path& model, const json& sbc) {
    if (sbc.contains("similarity") && sbc["similarity"].is_string()) return sbc["similarity"].get<std::string>() == "dot" ? "dot" : "cosine";
    std::error_code ec;
    if (!fs::exists(model / "modules.json", ec)) return "dot";
    const fs::path st = model / "config_sentence_transformers.json";
    if (fs::exists(st, ec)) {
        const json j = sb::io::read_st_json(st);
        if (j.is_object() && j.contains("similarity_fn_name") && j["similarity_fn_name"].is_string()) {
            const std::string f = j["similarity_fn_name"].get<std::string>();
            if (f == "dot" || f == "dot_product") return "dot";
            if (f != "cosine") throw sb::unsupported_error(st.string(), "similarity_fn_name \"" + f + "\"", "eval retrieval scores dot or cosine");
        }
    }
    return "cosine";
}

std::string metric_cell(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", v);
    return buf;
}

} // namespace

int run_eval_retrieval(const eval_retrieval_options& o) {
    const sb::matmul_precision_scope products(matmul_precision_of(o.dtype));
    if (o.per_query && o.out.empty()) throw sb::usage_error("--per-query", "needs --out: one table per size goes under it");
    const fs::path model = o.model;
    require_directory(model);
    const json sbc = read_starbucks_config_json(model);
    if (sbc.contains("separate_models"))
        throw sb::usage_error("--model", "a --strategy separate run holds one model per pair; evaluate each with --model " +
                                             (model / "separate" / "<pair>").string());
    const sb::nn::bert_config config = read_config(transformer_dir(model));
    const auto sizes = chosen_sizes(o.pairs, o.grid, sbc, config);
    const retrieval_set set = resolve_set(o);
    const sb::io::st_folder_defaults fd = sb::io::read_st_folder(model, config);

    sb::eval::retrieval_options ro;
    std::string pooling = o.pooling;
    if (pooling.empty() && sbc.contains("pooling") && sbc["pooling"].is_string()) pooling = sbc["pooling"].get<std::string>();
    if (pooling.empty() && !fd.pooling_problem.empty()) throw sb::unsupported_error(fd.pooling_file, "pooling", fd.pooling_problem + "; pass --pooling");
    if (pooling.empty()) pooling = fd.pooling.value_or("cls");
    ro.pool = pooling == "mean" ? sb::eval::pooling::mean : sb::eval::pooling::cls;
    const std::string similarity = !o.similarity.empty() ? o.similarity : model_similarity(model, sbc);
    ro.score = similarity == "dot" ? sb::eval::similarity::dot : sb::eval::similarity::cosine;
    const std::size_t positions = config.max_position_embeddings;
    ro.query_max_length = o.query_max_length ? positive("--query-max-length", o.query_max_length) : std::min<std::size_t>(64, positions);
    ro.passage_max_length = o.passage_max_length ? positive("--passage-max-length", o.passage_max_length)
                                                 : fd.max_length.value_or(std::min<std::size_t>(256, positions));
    for (const auto& [flag, length] : {std::pair{"--query-max-length", ro.query_max_length}, std::pair{"--passage-max-length", ro.passage_max_length}})
        if (length < 2 || length > positions)
            throw sb::usage_error(flag, std::to_string(length) + " is outside 2.." + std::to_string(positions) + " (the model's max_position_embeddings)");
    ro.depth = positive("--depth", o.depth);
    ro.batch_size = positive("--batch-size", o.batch_size);
    ro.query_prefix = o.query_prefix;
    ro.passage_prefix = o.passage_prefix;
    if (set.rel_level < 1) throw sb::usage_error("--rel-level", std::to_string(set.rel_level) + " is out of range; it must be at least 1");

    // Judgments first (small), then the judged queries; the corpus is streamed by the search.
    const sb::data::qrels judged = sb::data::read_qrels(set.qrels);
    sb::data::read_options read;
    read.skip_bad_rows = o.skip_bad_rows;
    sb::data::read_stats query_stats;
    auto all_queries = sb::data::read_text_records(set.queries, read, &query_stats);
    if (query_stats.skipped)
        std::fprintf(stderr, "%s: skipped %zu malformed row(s); first: %s\n", set.queries.c_str(), query_stats.skipped, query_stats.first_skipped.front().c_str());
    std::vector<sb::data::text_record> queries;
    if (o.all_queries) queries = std::move(all_queries);
    else {
        std::set<std::string> with_text;
        for (auto& q : all_queries)
            if (judged.queries.contains(q.id)) with_text.insert(q.id), queries.push_back(std::move(q));
        for (const auto& [qid, j] : judged.queries)
            if (!with_text.contains(qid))
                throw sb::format_error(set.qrels, "query " + qid, "is judged but " + set.queries + " has no text for it");
    }
    if (queries.empty()) throw sb::format_error(set.queries, "queries", "none of them is judged in " + set.qrels);

    // One validating pass over the corpus first (no encoding): a malformed row at the end of a
    // large corpus stops the run now, not after hours of encoding, and the count feeds progress.
    std::size_t documents = 0;
    {
        sb::data::text_record_reader check(set.corpus, read);
        sb::data::text_record r;
        while (check.next(r)) ++documents;
    }
    // What the corpus vectors depend on: reusing them under other settings would be silently wrong.
    const std::map<std::string, std::string> settings{{"model", fs::absolute(model).lexically_normal().string()},
                                                      {"corpus", fs::absolute(set.corpus).lexically_normal().string()},
                                                      {"pooling", pooling},
                                                      {"passage_max_length", std::to_string(ro.passage_max_length)},
                                                      {"passage_prefix", ro.passage_prefix}};
    std::optional<sb::eval::corpus_embeddings> stored;
    if (!o.embeddings.empty()) {
        stored = sb::eval::load_corpus_embeddings(o.embeddings);
        for (const auto& [key, value] : settings)
            if (!stored->settings.contains(key) || stored->settings.at(key) != value)
                throw sb::usage_error("--embeddings", o.embeddings + " was encoded with " + key + " \"" +
                                                          (stored->settings.contains(key) ? stored->settings.at(key) : std::string("?")) +
                                                          "\", this run has \"" + value + "\"; encode the corpus again");
        if (stored->doc_ids.size() != documents)
            throw sb::usage_error("--embeddings", o.embeddings + " holds " + std::to_string(stored->doc_ids.size()) + " documents, " + set.corpus +
                                                      " " + std::to_string(documents) + "; encode the corpus again");
    }
    const std::string backend = choose_backend(o.backend, o.threads);
    std::fprintf(stderr, "eval: %s, %zu queries, %zu documents, %zu sizes, pooling %s, similarity %s, max length %zu/%zu, depth %zu, backend %s\n",
                 set.name.c_str(), queries.size(), documents, sizes.size(), pooling.c_str(), similarity.c_str(), ro.query_max_length,
                 ro.passage_max_length, ro.depth, backend.c_str());
    const auto t0 = std::chrono::steady_clock::now();
    ro.on_block = [&](std::size_t docs) {
        std::fprintf(stderr, "eval: %zu of %zu documents encoded and scored (%.0f s)\n", docs, documents,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };
    sb::eval::search_result found;
    sb::data::text_record_reader corpus(set.corpus, read);
    sb::eval::corpus_embeddings kept;
    kept.settings = settings;
    with_backend(backend, [&]<class B>(std::type_identity<B>) {
        model_folder_t<B> m = open_model_on<B>(model.string());
        const auto tokenizer = sb::text::wordpiece::load(m.tokenizer_dir);
        found = stored ? sb::eval::search_embedded(m.encoder, tokenizer, queries, *stored, sizes, ro)
                       : sb::eval::search(m.encoder, tokenizer, queries, corpus, sizes, ro, o.save_embeddings.empty() ? nullptr : &kept);
    });
    if (!o.save_embeddings.empty() && !stored) {
        sb::eval::save_corpus_embeddings(kept, o.save_embeddings);
        std::fprintf(stderr, "eval: corpus vectors of layers %s written to %s\n", [&] {
            std::string l;
            for (std::size_t n : kept.layers) l += (l.empty() ? "" : ",") + std::to_string(n);
            return l;
        }().c_str(), o.save_embeddings.c_str());
    }
    if (corpus.stats().skipped)
        std::fprintf(stderr, "%s: skipped %zu malformed row(s); first: %s\n", set.corpus.c_str(), corpus.stats().skipped,
                     corpus.stats().first_skipped.front().c_str());
    if (!stored && found.doc_ids.size() != documents)
        throw sb::io_error(set.corpus, "changed while it was read: " + std::to_string(documents) + " documents, then " + std::to_string(found.doc_ids.size()));

    // Judged documents the corpus lacks still count as relevant (trec_eval cannot know); say how many.
    const std::unordered_set<std::string> in_corpus(found.doc_ids.begin(), found.doc_ids.end());
    std::size_t judged_docs = 0, unknown = 0;
    for (const auto& q : queries)
        if (const auto it = judged.queries.find(q.id); it != judged.queries.end())
            for (const auto& [doc, grade] : it->second) ++judged_docs, unknown += !in_corpus.contains(doc);
    if (unknown)
        std::fprintf(stderr, "eval: %zu of %zu judged documents are not in the corpus; they count as relevant but cannot be retrieved\n", unknown,
                     judged_docs);

    const auto results = sb::eval::evaluate_retrieval(found, judged, {set.rel_level});
    std::vector<sb::eval::report_row> ndcg, mrr;
    for (const auto& r : results) {
        ndcg.push_back({set.name, r.size, 100 * r.metrics.mean.ndcg_10});
        mrr.push_back({set.name, r.size, 100 * r.metrics.mean.mrr_10});
    }
    const auto& first = results.front().metrics;
    std::printf("%s\n%s\n", sb::eval::report_table(ndcg, set.name, "nDCG@10 x 100").c_str(), sb::eval::report_table(mrr, set.name, "MRR@10 x 100").c_str());
    std::printf("%zu queries averaged (%zu judged without a relevant document left out; relevance at grade >= %d), %zu documents\n", first.queries,
                first.without_relevant, set.rel_level, found.doc_ids.size());
    std::fflush(stdout);
    if (o.out.empty()) return 0;

    const fs::path out = o.out;
    std::error_code ec;
    fs::create_directories(out / "runs", ec);
    if (ec) throw sb::io_error(out.string(), "cannot create the report folder: " + ec.message());
    json rows = json::array();
    std::string csv = "dataset,layers,dim,ndcg@10,mrr@10,recall@100,recall@1000,map\n";
    for (const auto& r : results) {
        const auto& m = r.metrics.mean;
        rows.push_back({{"dataset", set.name}, {"layers", r.size.layers}, {"dim", r.size.dim}, {"ndcg@10", m.ndcg_10}, {"mrr@10", m.mrr_10},
                        {"recall@100", m.recall_100}, {"recall@1000", m.recall_1000}, {"map", m.map}});
        csv += set.name + "," + std::to_string(r.size.layers) + "," + std::to_string(r.size.dim) + "," + metric_cell(m.ndcg_10) + "," +
               metric_cell(m.mrr_10) + "," + metric_cell(m.recall_100) + "," + metric_cell(m.recall_1000) + "," + metric_cell(m.map) + "\n";
    }
    const json report{{"task", "retrieval"},
                      {"model", model.string()},
                      {"command", command_line()},
                      {"dataset", set.name},
                      {"corpus", set.corpus},
                      {"queries", set.queries},
                      {"qrels", set.qrels},
                      {"pooling", pooling},
                      {"similarity", similarity},
                      {"query_max_length", ro.query_max_length},
                      {"passage_max_length", ro.passage_max_length},
                      {"depth", ro.depth},
                      {"relevance_level", set.rel_level},
                      {"queries_averaged", first.queries},
                      {"documents", found.doc_ids.size()},
                      {"judged_documents_not_in_corpus", unknown},
                      {"metrics", "trec_eval: ties by document id descending; nDCG with linear gains; means over judged queries with a relevant document"},
                      {"results", rows}};
    write_text_atomically(out / "report.json", report.dump(2) + "\n");
    write_text_atomically(out / "results.csv", csv);
    write_text_atomically(out / ("heatmap-" + set.name + "-ndcg@10.svg"),
                          sb::eval::report_svg(ndcg, set.name, set.name + ": nDCG@10 x 100, " + model.filename().string()));
    write_text_atomically(out / ("heatmap-" + set.name + "-mrr@10.svg"),
                          sb::eval::report_svg(mrr, set.name, set.name + ": MRR@10 x 100, " + model.filename().string()));
    for (std::size_t k = 0; k < found.sizes.size(); ++k) {
        const std::string label = sb::matryoshka::label(found.sizes[k]);
        write_text_atomically(out / "runs" / (set.name + "-" + label + ".run"), found.run_file(k, "starbucks-" + label));
    }
    if (o.per_query) {
        fs::create_directories(out / "per_query", ec);
        if (ec) throw sb::io_error((out / "per_query").string(), "cannot create: " + ec.message());
        for (const auto& r : results)
            write_text_atomically(out / "per_query" / (set.name + "-" + sb::matryoshka::label(r.size) + ".tsv"), sb::eval::per_query_tsv(r.metrics));
    }
    std::fprintf(stderr, "eval: report and %zu run files written to %s\n", found.sizes.size(), out.string().c_str());
    return 0;
}

} // namespace starbucks_cli
