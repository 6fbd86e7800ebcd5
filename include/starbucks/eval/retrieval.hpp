// SPDX-License-Identifier: Apache-2.0
// eval::search and eval::evaluate_retrieval: exhaustive inner-product search at many (layers,
// dims) sizes in one pass over the corpus (METHOD.md §5), and the trec_eval metrics of each size.
//
// The corpus is streamed in blocks: each block runs through the encoder once, up to the deepest
// layer asked for; every layer is pooled once; and all dims of a layer are scored from one
// full-width product, accumulated over coordinate blocks (the score at dim d_j is the score at
// d_{j-1} plus the product over coordinates d_{j-1}..d_j). Each (size, query) keeps its top
// `depth` in a heap ordered as trec_eval orders (score, then document id descending), so memory
// is queries × sizes × depth, whatever the corpus size.
#pragma once

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../autograd/autograd.hpp"
#include "../backend/frozen_weights.hpp"
#include "../config.hpp"
#include "../core/error.hpp"
#include "../data/beir.hpp"
#include "../data/token_batch.hpp"
#include "../data/trec.hpp"
#include "../io/atomic_file.hpp"
#include "../io/mapped_file.hpp"
#include "../io/safetensors.hpp"
#include "../io/save_safetensors.hpp"
#include "../matryoshka/pairs.hpp"
#include "../nn/bert_encoder.hpp"
#include "../nn/pooling.hpp"
#include "../ops/transfer.hpp"
#include "../text/wordpiece.hpp"
#include "metrics.hpp"
#include "sts.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace eval {

/// How a query and a document are compared.
enum class similarity {
    dot,    ///< raw inner product (Starbucks retrieval, METHOD.md §2.2)
    cosine, ///< inner product of the vectors cut to d, each then normalised (sentence-transformers models)
};

struct retrieval_options {
    std::size_t batch_size = 64;          ///< texts per encoder forward
    std::size_t query_max_length = 64;    ///< tokens per query, [CLS] and [SEP] included
    std::size_t passage_max_length = 256; ///< tokens per document
    pooling pool = pooling::cls;
    similarity score = similarity::dot;
    std::size_t depth = 1000;             ///< documents kept per query and size
    std::string query_prefix;             ///< prepended to every query (e.g. "query: ")
    std::string passage_prefix;           ///< prepended to every document (e.g. "passage: ")
    std::size_t block = 4096;             ///< documents read and scored together
    /// Called after each block with the documents scored so far.
    std::function<void(std::size_t)> on_block;
};

/// One retrieved document: its index in search_result::doc_ids and its score.
struct hit {
    std::uint32_t doc = 0;
    float score = 0;
};

/// The rankings of every size: hits[k][q] for sizes[k] and query q, best first (trec_eval order).
struct search_result {
    std::vector<matryoshka::size_pair> sizes;
    std::vector<std::string> query_ids;
    std::vector<std::string> doc_ids;
    std::vector<std::vector<std::vector<hit>>> hits;

    /// @brief The ranking of size k and query q as scored documents (ids copied).
    std::vector<data::scored_doc> ranking(std::size_t k, std::size_t q) const {
        std::vector<data::scored_doc> out;
        out.reserve(hits[k][q].size());
        for (const auto& h : hits[k][q]) out.push_back({doc_ids[h.doc], h.score});
        return out;
    }

    /// @brief Size k as a TREC run file (ranks from 1, scores that read back as the same floats).
    std::string run_file(std::size_t k, std::string_view tag) const {
        std::string out;
        for (std::size_t q = 0; q < query_ids.size(); ++q) {
            std::vector<std::pair<std::string_view, float>> ranked;
            for (const auto& h : hits[k][q]) ranked.emplace_back(doc_ids[h.doc], h.score);
            data::append_run_lines(out, query_ids[q], ranked, tag);
        }
        return out;
    }
};

namespace detail {

/// Pooled vectors of `layers` for `texts`, one encoder pass: out[i] is (texts × C) row-major for layers[i].
template <class T, class B>
std::vector<std::vector<float>> pooled_layers(nn::bert_encoder<T, B>& model, const text::wordpiece& tokenizer,
                                              std::span<const std::string_view> texts, const std::vector<std::size_t>& layers,
                                              std::size_t max_length, pooling pool, const char* where) {
    const auto batch = data::tokenize<T, B>(tokenizer, texts, max_length, model.config.vocab_size, where);
    const auto hidden = model(batch.ids, batch.mask, layers.back());
    std::vector<std::vector<float>> out;
    const std::size_t width = model.config.hidden_size;
    for (std::size_t n : layers) {
        const auto pooled = pool == pooling::mean ? nn::mean_pooling(hidden[n], batch.mask) : autograd::contiguous(nn::cls_pooling(hidden[n]));
        const auto v = to<backend::host_backend_t<B>>(pooled.value());
        std::vector<float> rows(texts.size() * width);
        for (std::size_t r = 0; r < texts.size(); ++r)
            for (std::size_t c = 0; c < width; ++c) rows[r * width + c] = static_cast<float>(v(r, c));
        out.push_back(std::move(rows));
    }
    return out;
}

} // namespace detail

/// @brief The corpus vectors a search computed: every document's pooled vector at each layer
/// searched, so the corpus can be encoded once and searched again (search_embedded).
struct corpus_embeddings {
    std::vector<std::size_t> layers;          ///< ascending
    std::size_t width = 0;
    std::vector<std::string> doc_ids;
    std::vector<std::vector<float>> vectors;  ///< per layer, (documents × width) row-major
    /// What produced them (pooling, passage_max_length, passage_prefix, model): compared on reuse.
    std::map<std::string, std::string> settings;
};

namespace detail {

/// Which dims each layer needs, ascending, with the index of each size.
struct search_plan {
    std::map<std::size_t, std::vector<std::pair<std::size_t, std::size_t>>> dims_of; // layer → (dim, size index)
    std::vector<std::size_t> layers;
};

inline search_plan make_plan(const std::vector<matryoshka::size_pair>& sizes, std::size_t n_layers, std::size_t width, const char* where) {
    if (sizes.empty()) throw usage_error(where, "no sizes to evaluate");
    search_plan p;
    for (std::size_t k = 0; k < sizes.size(); ++k) {
        const auto s = sizes[k];
        if (s.layers < 1 || s.layers > n_layers || s.dim < 1 || s.dim > width)
            throw usage_error(where, "size " + matryoshka::to_string(s) + " is outside the model; allowed: layers 1.." + std::to_string(n_layers) +
                                         ", dims 1.." + std::to_string(width));
        p.dims_of[s.layers].emplace_back(s.dim, k);
    }
    for (auto& [n, dims] : p.dims_of) {
        std::sort(dims.begin(), dims.end());
        p.layers.push_back(n);
    }
    return p;
}

inline void check_options(const retrieval_options& o, std::size_t positions, const char* where) {
    if (o.depth == 0 || o.batch_size == 0 || o.block == 0) throw usage_error(where, "depth, batch size and block must be positive");
    for (const auto& [flag, length] : {std::pair{"query_max_length", o.query_max_length}, std::pair{"passage_max_length", o.passage_max_length}})
        if (length < 2 || length > positions)
            throw usage_error(where, std::string(flag) + " " + std::to_string(length) + " is outside 2..max_position_embeddings (" +
                                         std::to_string(positions) + ")");
}

/// Pooled vectors of `texts` (each with `prefix`) at `layers`, (texts × C) per layer, encoded in
/// batches of similar length (less padding); rows keep the order of `texts`.
template <class T, class B>
std::vector<std::vector<float>> encode_all(nn::bert_encoder<T, B>& model, const text::wordpiece& tokenizer, const std::vector<std::string_view>& texts,
                                           const std::string& prefix, const std::vector<std::size_t>& layers, std::size_t max_length,
                                           const retrieval_options& o, const char* where) {
    const std::size_t width = model.config.hidden_size;
    std::vector<std::size_t> order(texts.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return texts[a].size() < texts[b].size(); });
    std::vector<std::vector<float>> out(layers.size(), std::vector<float>(texts.size() * width));
    for (std::size_t begin = 0; begin < texts.size(); begin += o.batch_size) {
        const std::size_t rows = std::min(o.batch_size, texts.size() - begin);
        std::vector<std::string> batch;
        for (std::size_t r = 0; r < rows; ++r) batch.push_back(prefix + std::string(texts[order[begin + r]]));
        const std::vector<std::string_view> views(batch.begin(), batch.end());
        const auto pooled = pooled_layers(model, tokenizer, views, layers, max_length, o.pool, where);
        for (std::size_t l = 0; l < layers.size(); ++l)
            for (std::size_t r = 0; r < rows; ++r)
                std::copy_n(pooled[l].begin() + std::ptrdiff_t(r * width), width, out[l].begin() + std::ptrdiff_t(order[begin + r] * width));
    }
    return out;
}

/// Scores documents [first, first + count) — their vectors d[l] + i·width per plan layer l —
/// against every query at every size, keeping each (size, query)'s top `depth` in trec_eval order.
inline void score_block(search_result& out, const search_plan& plan, const std::vector<std::vector<float>>& q_vec, const std::vector<const float*>& d,
                        std::size_t first, std::size_t count, std::size_t width, const retrieval_options& o, const char* where) {
    const auto better = [&](const hit& a, const hit& b) { return a.score != b.score ? a.score > b.score : out.doc_ids[a.doc] > out.doc_ids[b.doc]; };
    const std::ptrdiff_t nq = static_cast<std::ptrdiff_t>(out.query_ids.size());
    std::optional<numeric_error> failure;
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic, 4)
#endif
    for (std::ptrdiff_t qi = 0; qi < nq; ++qi) {
        const std::size_t q = static_cast<std::size_t>(qi);
        for (std::size_t l = 0; l < plan.layers.size(); ++l) {
            const auto& dims = plan.dims_of.at(plan.layers[l]);
            const float* qv = q_vec[l].data() + q * width;
            for (std::size_t i = 0; i < count; ++i) {
                const float* dv = d[l] + i * width;
                double dot = 0, qq = 0, dd = 0;
                std::size_t c = 0;
                for (const auto& [dim, k] : dims) { // each dim continues the previous one's sums
                    for (; c < dim; ++c) {
                        dot += double(qv[c]) * double(dv[c]);
                        qq += double(qv[c]) * double(qv[c]);
                        dd += double(dv[c]) * double(dv[c]);
                    }
                    const double s = o.score == similarity::dot ? dot : dot / std::max(std::sqrt(qq) * std::sqrt(dd), 1e-12);
                    const hit h{static_cast<std::uint32_t>(first + i), static_cast<float>(s)};
                    if (!std::isfinite(h.score)) {
#if defined(_OPENMP)
#pragma omp critical(starbucks_eval_search)
#endif
                        if (!failure)
                            failure = numeric_error(where, "document " + io::detail::escaped(out.doc_ids[h.doc], 80),
                                                    "scores " + std::to_string(s) + " at " + matryoshka::to_string(out.sizes[k]));
                        continue;
                    }
                    auto& heap = out.hits[k][q];
                    if (heap.size() < o.depth) {
                        heap.push_back(h);
                        std::push_heap(heap.begin(), heap.end(), better);
                    } else if (better(h, heap.front())) {
                        std::pop_heap(heap.begin(), heap.end(), better);
                        heap.back() = h;
                        std::push_heap(heap.begin(), heap.end(), better);
                    }
                }
            }
        }
    }
    if (failure) throw *failure;
}

/// Empty rankings for `queries` at `sizes`, and the queries' vectors.
template <class T, class B>
std::vector<std::vector<float>> start_search(search_result& out, nn::bert_encoder<T, B>& model, const text::wordpiece& tokenizer,
                                             const std::vector<data::text_record>& queries, const std::vector<matryoshka::size_pair>& sizes,
                                             const search_plan& plan, const retrieval_options& o, const char* where) {
    if (queries.empty()) throw usage_error(where, "no queries");
    out.sizes = sizes;
    out.hits.assign(sizes.size(), std::vector<std::vector<hit>>(queries.size()));
    std::vector<std::string_view> texts;
    for (const auto& q : queries) out.query_ids.push_back(q.id), texts.push_back(q.text);
    return encode_all(model, tokenizer, texts, o.query_prefix, plan.layers, o.query_max_length, o, where);
}

inline void finish_search(search_result& out) {
    const auto better = [&](const hit& a, const hit& b) { return a.score != b.score ? a.score > b.score : out.doc_ids[a.doc] > out.doc_ids[b.doc]; };
    for (auto& per_size : out.hits)
        for (auto& heap : per_size) std::sort_heap(heap.begin(), heap.end(), better);
}

/// Restores model.training on every exit.
template <class M>
struct inference_mode {
    M& model;
    bool was;
    explicit inference_mode(M& m) : model(m), was(m.training) { model.training = false; }
    ~inference_mode() { model.training = was; }
};

} // namespace detail

/// @brief Ranks the documents of `corpus` for every query at every size of `sizes`.
///
/// Exhaustive: every document is scored at every size; the top `depth` per (size, query) are kept.
/// With `keep`, the corpus vectors are also kept there (for save_corpus_embeddings / search_embedded).
/// Documents that score NaN (a broken model) raise numeric_error naming the document and size.
/// @throws usage_error for no queries, no sizes, a size beyond the model or a max length beyond its positions; format_error from the
/// corpus reader; numeric_error as said.
template <class T, class B>
search_result search(nn::bert_encoder<T, B>& model, const text::wordpiece& tokenizer, const std::vector<data::text_record>& queries,
                     data::text_record_reader& corpus, const std::vector<matryoshka::size_pair>& sizes, const retrieval_options& o = {},
                     corpus_embeddings* keep = nullptr) {
    constexpr const char* where = "starbucks::eval::search";
    detail::check_options(o, model.config.max_position_embeddings, where);
    const std::size_t width = model.config.hidden_size;
    const auto plan = detail::make_plan(sizes, model.n_layers(), width, where);
    autograd::no_grad inference;
    backend::frozen_weights_scope frozen; // weights stay packed across the corpus's batches
    detail::inference_mode mode(model);
    search_result out;
    const auto q_vec = detail::start_search(out, model, tokenizer, queries, sizes, plan, o, where);
    if (keep) { // the caller's settings stay
        keep->layers = plan.layers;
        keep->width = width;
        keep->doc_ids.clear();
        keep->vectors.assign(plan.layers.size(), {});
    }
    std::vector<data::text_record> block;
    while (corpus.next_block(block, o.block) > 0) {
        const std::size_t first = out.doc_ids.size();
        if (first + block.size() > std::size_t(UINT32_MAX)) throw usage_error(where, "more than 2^32 - 1 documents");
        std::vector<std::string_view> texts;
        for (auto& r : block) out.doc_ids.push_back(r.id), texts.push_back(r.text);
        const auto d_vec = detail::encode_all(model, tokenizer, texts, o.passage_prefix, plan.layers, o.passage_max_length, o, where);
        std::vector<const float*> d;
        for (const auto& v : d_vec) d.push_back(v.data());
        detail::score_block(out, plan, q_vec, d, first, block.size(), width, o, where);
        if (keep)
            for (std::size_t l = 0; l < plan.layers.size(); ++l) keep->vectors[l].insert(keep->vectors[l].end(), d_vec[l].begin(), d_vec[l].end());
        if (o.on_block) o.on_block(out.doc_ids.size());
    }
    if (keep) keep->doc_ids = out.doc_ids;
    detail::finish_search(out);
    return out;
}

/// @brief search() over corpus vectors computed before: only the queries are encoded.
/// @throws usage_error when a size needs a layer `corpus` lacks or the widths differ; as search.
template <class T, class B>
search_result search_embedded(nn::bert_encoder<T, B>& model, const text::wordpiece& tokenizer, const std::vector<data::text_record>& queries,
                              const corpus_embeddings& corpus, const std::vector<matryoshka::size_pair>& sizes, const retrieval_options& o = {}) {
    constexpr const char* where = "starbucks::eval::search_embedded";
    detail::check_options(o, model.config.max_position_embeddings, where);
    const std::size_t width = model.config.hidden_size;
    if (corpus.width != width) throw usage_error(where, "the corpus vectors are " + std::to_string(corpus.width) + " wide, the model " + std::to_string(width));
    const auto plan = detail::make_plan(sizes, model.n_layers(), width, where);
    std::vector<std::size_t> stored; // plan layer → index in corpus.layers
    for (std::size_t n : plan.layers) {
        const auto it = std::find(corpus.layers.begin(), corpus.layers.end(), n);
        if (it == corpus.layers.end()) throw usage_error(where, "the corpus vectors have no layer " + std::to_string(n) + "; encode the corpus again");
        stored.push_back(std::size_t(it - corpus.layers.begin()));
    }
    autograd::no_grad inference;
    backend::frozen_weights_scope frozen; // weights stay packed across the corpus's batches
    detail::inference_mode mode(model);
    search_result out;
    const auto q_vec = detail::start_search(out, model, tokenizer, queries, sizes, plan, o, where);
    out.doc_ids = corpus.doc_ids;
    for (std::size_t first = 0; first < corpus.doc_ids.size(); first += o.block) {
        const std::size_t count = std::min(o.block, corpus.doc_ids.size() - first);
        std::vector<const float*> d;
        for (std::size_t idx : stored) d.push_back(corpus.vectors[idx].data() + first * width);
        detail::score_block(out, plan, q_vec, d, first, count, width, o, where);
        if (o.on_block) o.on_block(first + count);
    }
    detail::finish_search(out);
    return out;
}

/// @brief Writes `e` into folder `dir`: corpus_embeddings.safetensors (F32 `layer_{n}` [documents, width],
/// the settings as metadata) and doc_ids.json (the ids, in row order). Both atomic.
inline void save_corpus_embeddings(const corpus_embeddings& e, const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw io_error(dir.string(), "cannot create the folder: " + ec.message());
    std::vector<io::tensor_entry> entries;
    std::vector<tensor<float, dextents<2>, backend::reference>> views;
    for (std::size_t l = 0; l < e.layers.size(); ++l) {
        tensor<float, dextents<2>, backend::reference> t(e.doc_ids.size(), e.width);
        std::copy(e.vectors[l].begin(), e.vectors[l].end(), t.data());
        entries.push_back(io::make_entry("layer_" + std::to_string(e.layers[l]), std::move(t)));
    }
    auto metadata = e.settings;
    metadata["documents"] = std::to_string(e.doc_ids.size());
    io::save_safetensors(dir / "corpus_embeddings.safetensors", entries, metadata);
    const std::string ids = nlohmann::json(e.doc_ids).dump() + "\n";
    io::write_file_atomically(dir / "doc_ids.json", std::as_bytes(std::span(ids.data(), ids.size())));
}

/// @brief Reads what save_corpus_embeddings wrote.
/// @throws io_error / format_error naming the file: missing, malformed, or ids and rows that disagree.
inline corpus_embeddings load_corpus_embeddings(const std::filesystem::path& dir) {
    const auto ids_path = dir / "doc_ids.json";
    corpus_embeddings e;
    try {
        e.doc_ids = nlohmann::json::parse(io::read_small_file(ids_path, std::uint64_t{8} << 30)).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& x) {
        throw format_error(ids_path.string(), "JSON", std::string("not an array of id strings: ") + x.what());
    }
    const io::safetensors_file f(dir / "corpus_embeddings.safetensors");
    e.settings = f.metadata();
    const std::string file = (dir / "corpus_embeddings.safetensors").string();
    for (const std::string_view view : f.names()) {
        const std::string name(view);
        std::size_t layer = 0;
        const char* digits = name.data() + std::min<std::size_t>(6, name.size());
        const auto parsed = std::from_chars(digits, name.data() + name.size(), layer);
        if (name.rfind("layer_", 0) != 0 || parsed.ec != std::errc() || parsed.ptr != name.data() + name.size())
            throw format_error(file, "tensor " + name, "is not layer_{n}");
        const auto t = f.read<float, dextents<2>>(name);
        if (t.extent(0) != e.doc_ids.size())
            throw format_error(file, "tensor " + name, std::to_string(t.extent(0)) + " rows for " + std::to_string(e.doc_ids.size()) + " ids in doc_ids.json");
        if (e.width != 0 && t.extent(1) != e.width) throw format_error(file, "tensor " + name, "width differs from the other layers'");
        e.width = t.extent(1);
        e.layers.push_back(layer);
        e.vectors.emplace_back(t.data(), t.data() + t.size());
    }
    // keep layers ascending, vectors alongside
    std::vector<std::size_t> idx(e.layers.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return e.layers[a] < e.layers[b]; });
    corpus_embeddings sorted{{}, e.width, std::move(e.doc_ids), {}, std::move(e.settings)};
    for (std::size_t i : idx) sorted.layers.push_back(e.layers[i]), sorted.vectors.push_back(std::move(e.vectors[i]));
    return sorted;
}

/// The metrics of one size.
struct retrieval_result {
    matryoshka::size_pair size;
    run_evaluation metrics;
};

/// @brief Scores every size of `found` against `judged` (trec_eval order and metrics).
inline std::vector<retrieval_result> evaluate_retrieval(const search_result& found, const data::qrels& judged, const metric_options& o = {}) {
    std::vector<retrieval_result> out;
    for (std::size_t k = 0; k < found.sizes.size(); ++k) {
        data::run r;
        for (std::size_t q = 0; q < found.query_ids.size(); ++q) r[found.query_ids[q]] = found.ranking(k, q);
        out.push_back({found.sizes[k], evaluate_run(r, judged, o)});
    }
    return out;
}

} // namespace eval
STARBUCKS_NAMESPACE_END
