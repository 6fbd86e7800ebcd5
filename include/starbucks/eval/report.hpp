// SPDX-License-Identifier: Apache-2.0
// eval reports: the results of a (layers × dims) evaluation as report.json, CSV, an SVG heatmap
// and a text table, so every size of a model can be compared at a glance.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../config.hpp"
#include "../matryoshka/pairs.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace eval {

/// One cell of a report: a size on a data set.
struct report_row {
    std::string dataset;
    matryoshka::size_pair size;
    double score = 0;            ///< the headline metric (Spearman × 100 for STS)
    double secondary = std::nan(""); ///< e.g. Pearson × 100; NaN when absent
};

/// @brief `{"results": [{"dataset", "layers", "dim", "spearman", "pearson"}, ...], ...extra}`.
inline nlohmann::json report_json(const std::vector<report_row>& rows, const nlohmann::json& extra, const char* metric = "spearman",
                                  const char* second = "pearson") {
    nlohmann::json results = nlohmann::json::array();
    for (const auto& r : rows) {
        nlohmann::json j{{"dataset", r.dataset}, {"layers", r.size.layers}, {"dim", r.size.dim}, {metric, r.score}};
        if (!std::isnan(r.secondary)) j[second] = r.secondary;
        results.push_back(std::move(j));
    }
    nlohmann::json out = extra.is_object() ? extra : nlohmann::json::object();
    out["results"] = std::move(results);
    return out;
}

/// CSV with a header: `dataset,layers,dim,<metric>,<second>`.
inline std::string report_csv(const std::vector<report_row>& rows, const char* metric = "spearman", const char* second = "pearson") {
    std::string s = std::string("dataset,layers,dim,") + metric + "," + second + "\n";
    char buf[96];
    for (const auto& r : rows) {
        std::snprintf(buf, sizeof buf, ",%zu,%zu,%.4f,", r.size.layers, r.size.dim, r.score);
        s += r.dataset + buf;
        if (!std::isnan(r.secondary)) {
            std::snprintf(buf, sizeof buf, "%.4f", r.secondary);
            s += buf;
        }
        s += "\n";
    }
    return s;
}

/// The rows of one data set, keyed by size.
inline std::map<std::pair<std::size_t, std::size_t>, double> cells_of(const std::vector<report_row>& rows, const std::string& dataset) {
    std::map<std::pair<std::size_t, std::size_t>, double> cells;
    for (const auto& r : rows)
        if (r.dataset == dataset) cells[{r.size.layers, r.size.dim}] = r.score;
    return cells;
}

/// @brief A text table of one data set: layers down, dims across, blank where not evaluated.
inline std::string report_table(const std::vector<report_row>& rows, const std::string& dataset, const std::string& metric = "Spearman x 100") {
    const auto cells = cells_of(rows, dataset);
    std::set<std::size_t> layers, dims;
    for (const auto& [k, v] : cells) layers.insert(k.first), dims.insert(k.second);
    std::string s = dataset + " (" + metric + ")\nlayers\\dim";
    char buf[32];
    for (std::size_t d : dims) {
        std::snprintf(buf, sizeof buf, " %7zu", d);
        s += buf;
    }
    s += "\n";
    for (std::size_t n : layers) {
        std::snprintf(buf, sizeof buf, "%10zu", n);
        s += buf;
        for (std::size_t d : dims) {
            const auto it = cells.find({n, d});
            if (it == cells.end()) s += "        ";
            else {
                std::snprintf(buf, sizeof buf, " %7.2f", it->second);
                s += buf;
            }
        }
        s += "\n";
    }
    return s;
}

/// @brief An SVG heatmap of one data set: layers down, dims across, each cell coloured from the
/// lowest (light) to the highest (dark) score shown and labelled with its value.
inline std::string report_svg(const std::vector<report_row>& rows, const std::string& dataset, const std::string& title) {
    const auto cells = cells_of(rows, dataset);
    std::vector<std::size_t> layers, dims;
    for (const auto& [k, v] : cells) {
        if (std::find(layers.begin(), layers.end(), k.first) == layers.end()) layers.push_back(k.first);
        if (std::find(dims.begin(), dims.end(), k.second) == dims.end()) dims.push_back(k.second);
    }
    std::sort(layers.begin(), layers.end());
    std::sort(dims.begin(), dims.end());
    double lo = 1e300, hi = -1e300;
    for (const auto& [k, v] : cells) lo = std::min(lo, v), hi = std::max(hi, v);
    const int cw = 64, ch = 28, left = 70, top = 50;
    const int w = left + cw * int(dims.size()) + 20, h = top + ch * int(layers.size()) + 40;
    auto esc = [](const std::string& t) {
        std::string o;
        for (char c : t) o += c == '<' ? std::string("&lt;") : c == '>' ? std::string("&gt;") : c == '&' ? std::string("&amp;") : std::string(1, c);
        return o;
    };
    char buf[256];
    std::string s;
    std::snprintf(buf, sizeof buf, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", w, h);
    s += buf;
    s += "<text x=\"10\" y=\"20\" font-size=\"14\">" + esc(title) + "</text>\n";
    s += "<text x=\"10\" y=\"40\">layers \\ dims</text>\n";
    for (std::size_t j = 0; j < dims.size(); ++j) {
        std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%zu</text>\n", left + cw * int(j) + cw / 2, top - 6, dims[j]);
        s += buf;
    }
    for (std::size_t i = 0; i < layers.size(); ++i) {
        std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%zu</text>\n", left - 8, top + ch * int(i) + ch / 2 + 4, layers[i]);
        s += buf;
        for (std::size_t j = 0; j < dims.size(); ++j) {
            const auto it = cells.find({layers[i], dims[j]});
            if (it == cells.end()) continue;
            const double t = hi > lo ? (it->second - lo) / (hi - lo) : 1.0;
            const int r = int(240 - 200 * t), g = int(245 - 130 * t), b = int(255 - 80 * t);
            std::snprintf(buf, sizeof buf,
                          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\" stroke=\"white\"/>"
                          "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%.1f</text>\n",
                          left + cw * int(j), top + ch * int(i), cw, ch, r, g, b, left + cw * int(j) + cw / 2, top + ch * int(i) + ch / 2 + 4,
                          t > 0.55 ? "white" : "black", it->second);
            s += buf;
        }
    }
    s += "</svg>\n";
    return s;
}

} // namespace eval
STARBUCKS_NAMESPACE_END
