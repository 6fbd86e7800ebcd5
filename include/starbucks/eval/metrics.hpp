// SPDX-License-Identifier: Apache-2.0
// eval ranking metrics computed as trec_eval computes them: documents ordered by score, ties
// broken by document id in decreasing string order; nDCG with the grade as linear gain (grades
// below 0 count 0) and log2(rank + 1) discount; binary metrics with relevance at grade ≥ level.
// Averages follow ECOSYSTEM.md: over the judged queries with a relevant document, a query the
// run lacks scoring 0 (trec_eval -c).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../data/trec.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace eval {

/// @brief Orders a query's documents as trec_eval does: score descending, then document id
/// descending (byte-wise), so tied scores give the same ranking in every tool.
inline void sort_trec(std::vector<data::scored_doc>& docs) {
    std::sort(docs.begin(), docs.end(), [](const data::scored_doc& a, const data::scored_doc& b) {
        return a.score != b.score ? a.score > b.score : a.doc > b.doc;
    });
}

/// Options of the binary metrics (MRR, Recall, MAP); nDCG uses the grades themselves.
struct metric_options {
    int relevance_level = 1; ///< a document is relevant at grade ≥ this (trec_eval -l)
};

namespace detail {

inline int grade_of(const data::judgments& j, const std::string& doc) {
    const auto it = j.find(doc);
    return it == j.end() ? 0 : it->second;
}

inline std::size_t relevant_count(const data::judgments& j, int level) {
    std::size_t n = 0;
    for (const auto& [doc, g] : j) n += g >= level;
    return n;
}

} // namespace detail

/// @brief nDCG at cut-off k of a ranking sorted by sort_trec: Σ gain/log2(rank+1) over the first k,
/// divided by the same sum over the judged documents in decreasing grade; 0 when no grade is positive.
inline double ndcg_at(const std::vector<data::scored_doc>& ranked, const data::judgments& j, std::size_t k) {
    double dcg = 0;
    for (std::size_t i = 0; i < std::min(k, ranked.size()); ++i)
        dcg += std::max(detail::grade_of(j, ranked[i].doc), 0) / std::log2(double(i) + 2);
    std::vector<int> ideal;
    for (const auto& [doc, g] : j)
        if (g > 0) ideal.push_back(g);
    std::sort(ideal.begin(), ideal.end(), std::greater<>());
    double best = 0;
    for (std::size_t i = 0; i < std::min(k, ideal.size()); ++i) best += ideal[i] / std::log2(double(i) + 2);
    return best > 0 ? dcg / best : 0.0;
}

/// @brief 1/rank of the first relevant document among the first k, else 0 (MRR at k, per query).
inline double reciprocal_rank_at(const std::vector<data::scored_doc>& ranked, const data::judgments& j, std::size_t k, const metric_options& o = {}) {
    for (std::size_t i = 0; i < std::min(k, ranked.size()); ++i)
        if (detail::grade_of(j, ranked[i].doc) >= o.relevance_level) return 1.0 / double(i + 1);
    return 0.0;
}

/// @brief Relevant documents among the first k over all relevant documents; 0 when none is relevant.
inline double recall_at(const std::vector<data::scored_doc>& ranked, const data::judgments& j, std::size_t k, const metric_options& o = {}) {
    const std::size_t total = detail::relevant_count(j, o.relevance_level);
    if (total == 0) return 0.0;
    std::size_t found = 0;
    for (std::size_t i = 0; i < std::min(k, ranked.size()); ++i) found += detail::grade_of(j, ranked[i].doc) >= o.relevance_level;
    return double(found) / double(total);
}

/// @brief Average precision over the whole ranking (trec_eval `map` per query): the mean over
/// all relevant documents of the precision at each one's rank, 0 for those not retrieved.
inline double average_precision(const std::vector<data::scored_doc>& ranked, const data::judgments& j, const metric_options& o = {}) {
    const std::size_t total = detail::relevant_count(j, o.relevance_level);
    if (total == 0) return 0.0;
    double sum = 0;
    std::size_t found = 0;
    for (std::size_t i = 0; i < ranked.size(); ++i)
        if (detail::grade_of(j, ranked[i].doc) >= o.relevance_level) sum += double(++found) / double(i + 1);
    return sum / double(total);
}

/// The standard metrics of one query (or their means).
struct ranking_scores {
    double ndcg_10 = 0, mrr_10 = 0, recall_100 = 0, recall_1000 = 0, map = 0;
};

/// @brief All ranking_scores of a ranking sorted by sort_trec.
inline ranking_scores score_ranking(const std::vector<data::scored_doc>& ranked, const data::judgments& j, const metric_options& o = {}) {
    return {ndcg_at(ranked, j, 10), reciprocal_rank_at(ranked, j, 10, o), recall_at(ranked, j, 100, o), recall_at(ranked, j, 1000, o),
            average_precision(ranked, j, o)};
}

/// A run scored against qrels.
struct run_evaluation {
    ranking_scores mean;                            ///< over the averaged queries
    std::map<std::string, ranking_scores> per_query; ///< every averaged query (0s where the run lacks it)
    std::size_t queries = 0;        ///< averaged: judged queries with a relevant document
    std::size_t missing = 0;        ///< of those, absent from the run (scored 0)
    std::size_t without_relevant = 0; ///< judged queries with no relevant document (not averaged)
    std::size_t unjudged = 0;       ///< run queries without judgments (ignored)
};

/// @brief Scores `r` against `judged` (trec_eval order and metrics, ECOSYSTEM.md averaging).
/// The run's documents may come in any order; they are sorted here.
inline run_evaluation evaluate_run(const data::run& r, const data::qrels& judged, const metric_options& o = {}) {
    run_evaluation out;
    for (const auto& [qid, j] : judged.queries) {
        if (detail::relevant_count(j, o.relevance_level) == 0) {
            ++out.without_relevant;
            continue;
        }
        ranking_scores s;
        if (const auto it = r.find(qid); it != r.end()) {
            auto ranked = it->second;
            sort_trec(ranked);
            s = score_ranking(ranked, j, o);
        } else {
            ++out.missing;
        }
        out.per_query[qid] = s;
        out.mean.ndcg_10 += s.ndcg_10;
        out.mean.mrr_10 += s.mrr_10;
        out.mean.recall_100 += s.recall_100;
        out.mean.recall_1000 += s.recall_1000;
        out.mean.map += s.map;
        ++out.queries;
    }
    for (const auto& [qid, docs] : r) out.unjudged += !judged.queries.contains(qid);
    if (out.queries > 0) {
        const double n = double(out.queries);
        out.mean = {out.mean.ndcg_10 / n, out.mean.mrr_10 / n, out.mean.recall_100 / n, out.mean.recall_1000 / n, out.mean.map / n};
    }
    return out;
}

/// @brief One line per averaged query, as `trec_eval -q` gives them but as a table:
/// `query_id<TAB>ndcg@10<TAB>mrr@10<TAB>recall@100<TAB>recall@1000<TAB>map`, a header first, queries
/// in id order, values with 6 decimals (their mean is `e.mean` to within 5e-7).
inline std::string per_query_tsv(const run_evaluation& e) {
    std::string out = "query_id\tndcg@10\tmrr@10\trecall@100\trecall@1000\tmap\n";
    char cells[160];
    for (const auto& [qid, s] : e.per_query) {
        std::snprintf(cells, sizeof cells, "\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\n", s.ndcg_10, s.mrr_10, s.recall_100, s.recall_1000, s.map);
        out += qid + cells;
    }
    return out;
}

} // namespace eval
STARBUCKS_NAMESPACE_END
