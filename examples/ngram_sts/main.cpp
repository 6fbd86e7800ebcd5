// SPDX-License-Identifier: Apache-2.0
// ngram_sts: trains a small sentence encoder end to end with the starbucks autograd.
//
// What it does: a bag of hashed word and character-trigram features is averaged
// (embedding + masked mean), passed through a tanh MLP, and trained with an in-batch-negative
// ranking loss (MNRL, cosine x 20, hard negatives) summed over nested widths 16, 32, 64 and 128
// of the output: a one-dimensional Matryoshka model, using prefix views and a multi-target loss.
// Data: SNLI test triplets (anchor, entailment, contradiction) to train; STS-B test to evaluate
// (Spearman x 100 of cosine similarity at every width), both shipped in examples/data.
// Run: ngram_sts [--epochs 6] [--batch-size 64] [--lr 2e-3] [--seed 42]
// Expect: the loss falls every epoch, and STS-B Spearman at each width rises over the
// untrained encoder (a few points at the widest width, more at the narrowest).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <starbucks/starbucks.hpp>

namespace sb = starbucks;
namespace ag = starbucks::autograd;
using sb::dyn;
using sb::extents;

namespace {

constexpr std::size_t C = 128;   // feature embedding width
constexpr std::size_t H = 256;   // hidden width
constexpr std::size_t D = 128;   // output width (Matryoshka widths are prefixes of it)
constexpr std::size_t V = 1 << 15; // hash buckets
const std::vector<std::size_t> widths{16, 32, 64, 128};

/// Reads a TAB-separated file with a header; every row must have exactly `columns` fields.
std::vector<std::vector<std::string>> read_tsv(const std::string& path, std::size_t columns) {
    std::ifstream in(path);
    if (!in) throw sb::io_error(path, "cannot open for reading");
    std::vector<std::vector<std::string>> rows;
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line_no == 1) continue; // header
        std::vector<std::string> fields;
        std::size_t start = 0;
        for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
            fields.push_back(line.substr(start, tab - start));
        fields.push_back(line.substr(start));
        if (fields.size() != columns)
            throw sb::format_error(path + ":" + std::to_string(line_no), "row", "has " + std::to_string(fields.size()) +
                                                                               " fields, expected " + std::to_string(columns));
        rows.push_back(std::move(fields));
    }
    if (rows.empty()) throw sb::format_error(path, "file", "has no data rows");
    return rows;
}

/// Hashed features of a sentence: lower-cased words and the character trigrams of "<word>".
std::vector<std::int64_t> featurize(const std::string& text) {
    auto bucket = [](const std::string& s) {
        std::uint64_t h = 1469598103934665603ull; // FNV-1a
        for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
        return static_cast<std::int64_t>(h % V);
    };
    std::vector<std::int64_t> out;
    std::string word;
    auto flush = [&] {
        if (word.empty()) return;
        out.push_back(bucket("w:" + word));
        const std::string padded = "<" + word + ">";
        for (std::size_t i = 0; i + 3 <= padded.size(); ++i) out.push_back(bucket(padded.substr(i, 3)));
        word.clear();
    };
    for (unsigned char ch : text) {
        if (std::isalnum(ch)) word.push_back(static_cast<char>(std::tolower(ch)));
        else flush();
    }
    flush();
    if (out.empty()) out.push_back(bucket("<empty>"));
    return out;
}

/// Feature ids padded to the longest sentence, with a 0/1 mask over real features.
struct batch {
    sb::tensor<std::int64_t, extents<dyn, dyn>> ids;
    sb::tensor<float, extents<dyn, dyn>> mask;
};

batch make_batch(const std::vector<const std::vector<std::int64_t>*>& sentences) {
    std::size_t longest = 1;
    for (auto* s : sentences) longest = std::max(longest, s->size());
    batch b{sb::tensor<std::int64_t, extents<dyn, dyn>>(sentences.size(), longest),
            sb::tensor<float, extents<dyn, dyn>>(sentences.size(), longest)};
    for (std::size_t i = 0; i < sentences.size(); ++i)
        for (std::size_t t = 0; t < sentences[i]->size(); ++t) {
            b.ids(i, t) = (*sentences[i])[t];
            b.mask(i, t) = 1.0f;
        }
    return b;
}

struct encoder {
    ag::var<float, extents<dyn, C>> table;
    ag::var<float, extents<H, C>> w1;
    ag::var<float, extents<H>> b1;
    ag::var<float, extents<D, H>> w2;

    explicit encoder(std::uint64_t seed)
        : table(ag::parameter(sb::random_normal<float>(extents<dyn, C>(V), sb::rng_stream{seed, 1}, 0.0f, 0.1f))),
          w1(ag::parameter(sb::random_uniform<float>(extents<H, C>{}, sb::rng_stream{seed, 2}, -0.088f, 0.088f))),
          b1(ag::parameter(sb::zeros<float>(extents<H>{}))),
          w2(ag::parameter(sb::random_uniform<float>(extents<D, H>{}, sb::rng_stream{seed, 3}, -0.0625f, 0.0625f))) {}

    /// (B, D) sentence vectors.
    auto operator()(const batch& b) const {
        auto e = ag::embedding(table, b.ids);                        // (B, T, C)
        auto pooled = ag::masked_mean(e, b.mask);                    // (B, C)
        auto h = ag::tanh(ag::add(ag::matmul_nt(pooled, w1), b1));   // (B, H)
        return ag::matmul_nt(h, w2);                                 // (B, D)
    }
};

/// Spearman correlation with average ranks for ties (as scipy.stats.spearmanr).
double spearman(const std::vector<double>& x, const std::vector<double>& y) {
    auto ranks = [](const std::vector<double>& v) {
        std::vector<std::size_t> order(v.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return v[a] < v[b]; });
        std::vector<double> r(v.size());
        for (std::size_t i = 0; i < order.size();) {
            std::size_t j = i;
            while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
            for (std::size_t k = i; k <= j; ++k) r[order[k]] = (double(i) + double(j)) / 2 + 1;
            i = j + 1;
        }
        return r;
    };
    const auto rx = ranks(x), ry = ranks(y);
    const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / rx.size();
    const double my = std::accumulate(ry.begin(), ry.end(), 0.0) / ry.size();
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < rx.size(); ++i) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    return sxy / std::sqrt(sxx * syy);
}

struct sts_set {
    std::vector<std::vector<std::int64_t>> left, right;
    std::vector<double> gold;
};

/// Spearman x 100 of cosine similarity at every width; the encoder runs once per batch.
std::vector<double> evaluate(const encoder& model, const sts_set& sts) {
    ag::no_grad off;
    std::vector<std::vector<double>> cosines(widths.size());
    for (std::size_t start = 0; start < sts.gold.size(); start += 256) {
        const std::size_t end = std::min(sts.gold.size(), start + 256);
        std::vector<const std::vector<std::int64_t>*> l, r;
        for (std::size_t i = start; i < end; ++i) {
            l.push_back(&sts.left[i]);
            r.push_back(&sts.right[i]);
        }
        auto el = model(make_batch(l));
        auto er = model(make_batch(r));
        for (std::size_t w = 0; w < widths.size(); ++w) {
            auto nl = sb::l2_normalize(sb::prefix(el.value(), widths[w]));
            auto nr = sb::l2_normalize(sb::prefix(er.value(), widths[w]));
            auto cos = sb::sum<1>(sb::mul(nl, nr)); // (B)
            for (std::size_t i = 0; i < cos.size(); ++i) cosines[w].push_back(cos(i));
        }
    }
    std::vector<double> out;
    for (auto& c : cosines) out.push_back(100 * spearman(c, sts.gold));
    return out;
}

void print_grid(const char* label, const std::vector<double>& s) {
    std::printf("%-10s", label);
    for (double v : s) std::printf("  %6.2f", v);
    std::printf("\n");
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Train a hashed n-gram sentence encoder with a Matryoshka MNRL loss (starbucks autograd demo)"};
    std::string data_dir = STARBUCKS_EXAMPLES_DATA;
    int epochs = 6;
    std::size_t batch_size = 64;
    double lr = 2e-3;
    std::uint64_t seed = 42;
    app.add_option("--data", data_dir, "folder holding snli-test-triplets.tsv and stsb-test.tsv")->capture_default_str();
    app.add_option("--epochs", epochs, "passes over the training triplets")->check(CLI::Range(1, 1000))->capture_default_str();
    app.add_option("--batch-size", batch_size, "triplets per step")->check(CLI::Range(2, 4096))->capture_default_str();
    app.add_option("--lr", lr, "peak AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--seed", seed, "initialisation and data-order seed")->capture_default_str();
    app.set_version_flag("--version", STARBUCKS_VERSION_STRING);
    CLI11_PARSE(app, argc, argv);

    try {
        // ---- data ----
        std::vector<std::array<std::vector<std::int64_t>, 3>> train;
        for (auto& row : read_tsv(data_dir + "/snli-test-triplets.tsv", 3))
            train.push_back({featurize(row[0]), featurize(row[1]), featurize(row[2])});
        sts_set sts;
        for (auto& row : read_tsv(data_dir + "/stsb-test.tsv", 4)) {
            sts.gold.push_back(std::stod(row[0]));
            sts.left.push_back(featurize(row[1]));
            sts.right.push_back(featurize(row[2]));
        }
        std::fprintf(stderr, "train triplets %zu, STS-B test pairs %zu\n", train.size(), sts.gold.size());

        encoder model(seed);
        sb::optim::adamw<float> opt({lr, 0.9, 0.999, 1e-8, 0.01});
        opt.add(model.table);
        opt.add(model.w1);
        opt.add(model.b1);
        opt.add(model.w2);

        std::printf("STS-B test Spearman x 100 at widths");
        for (auto w : widths) std::printf("  %6zu", w);
        std::printf("\n");
        print_grid("untrained", evaluate(model, sts));

        // ---- training: every width's loss, every step ----
        const std::size_t steps_per_epoch = train.size() / batch_size;
        const std::size_t total_steps = steps_per_epoch * static_cast<std::size_t>(epochs);
        const std::size_t warmup = std::max<std::size_t>(1, total_steps / 10);
        std::vector<std::size_t> order(train.size());
        std::iota(order.begin(), order.end(), 0);
        sb::tensor<std::int64_t, extents<dyn>> labels(batch_size);
        for (std::size_t i = 0; i < batch_size; ++i) labels(i) = static_cast<std::int64_t>(i);
        ag::tape tape;
        std::size_t step = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (int epoch = 1; epoch <= epochs; ++epoch) {
            // Reproducible shuffle from the counter-based RNG (Fisher-Yates).
            const sb::rng_stream shuffle{seed, 100 + static_cast<std::uint64_t>(epoch)};
            for (std::size_t i = order.size(); i-- > 1;) std::swap(order[i], order[shuffle.bits(i) % (i + 1)]);
            double epoch_loss = 0;
            std::vector<double> width_loss(widths.size(), 0.0);
            for (std::size_t s = 0; s < steps_per_epoch; ++s, ++step) {
                std::vector<const std::vector<std::int64_t>*> a, p, n;
                for (std::size_t i = 0; i < batch_size; ++i) {
                    auto& t = train[order[s * batch_size + i]];
                    a.push_back(&t[0]);
                    p.push_back(&t[1]);
                    n.push_back(&t[2]);
                }
                tape.clear();
                auto on = tape.activate();
                auto ea = model(make_batch(a)); // (B, D)
                auto ep = model(make_batch(p));
                auto en = model(make_batch(n));
                std::vector<ag::loss_term> terms;
                for (std::size_t w = 0; w < widths.size(); ++w) {
                    auto candidates = ag::concat<0>(ag::prefix(ep, widths[w]), ag::prefix(en, widths[w])); // (2B, d)
                    auto scores = ag::scale(ag::cosine_similarity(ag::prefix(ea, widths[w]), candidates), 20.0f); // (B, 2B)
                    auto loss = ag::cross_entropy(scores, labels);
                    width_loss[w] += loss.value()();
                    epoch_loss += loss.value()();
                    terms.push_back(loss * 1.0);
                }
                tape.backward(terms);
                const double scale = step < warmup ? double(step + 1) / double(warmup)
                                                   : double(total_steps - step) / double(total_steps - warmup);
                opt.step(lr * scale);
                opt.zero_grad();
            }
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::printf("epoch %d  loss %.4f  per width", epoch, epoch_loss / double(steps_per_epoch));
            for (double l : width_loss) std::printf(" %.4f", l / double(steps_per_epoch));
            std::printf("  (%.1f s)\n", secs);
            std::fflush(stdout);
        }
        print_grid("trained", evaluate(model, sts));
        return 0;
    } catch (const sb::error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return sb::exit_code(e.kind());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "starbucks::internal_error: %s\n", e.what());
        return 70;
    }
}
