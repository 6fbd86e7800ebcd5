// SPDX-License-Identifier: Apache-2.0
// What the train/ tests share: the uncased BERT tokenizer of the fixtures, STS-B test rows, a
// 3-layer 16-wide BERT config over its vocabulary, and a temporary folder removed at scope exit.
#pragma once

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <unistd.h>

#include <starbucks/nn/bert_config.hpp>
#include <starbucks/text/vocab.hpp>
#include <starbucks/text/wordpiece.hpp>
#include <starbucks/train/pretrainer.hpp>
#include <starbucks/train/trainer.hpp>

namespace train_testing {

inline std::filesystem::path tests_dir() { return std::filesystem::path(__FILE__).parent_path().parent_path(); }

/// The uncased BERT WordPiece vocabulary of the tokenizer fixtures (30522 tokens).
inline starbucks::text::wordpiece bert_tokenizer() { return starbucks::text::wordpiece::load(tests_dir() / "fixtures" / "tokenizer"); }

/// @brief The first `count` scored pairs of the bundled STS-B test file (score, sentence1,
/// sentence2). @throws std::runtime_error when the file is missing or shorter.
inline std::vector<starbucks::train::example> stsb_test_rows(std::size_t count) {
    // tests_dir() may be reached through "..": resolve it before going up.
    const auto path = std::filesystem::weakly_canonical(tests_dir()).parent_path() / "examples" / "data" / "stsb-test.tsv";
    std::ifstream in(path);
    std::string line;
    std::getline(in, line); // header
    std::vector<starbucks::train::example> out;
    while (out.size() < count && std::getline(in, line)) {
        const auto t1 = line.find('\t'), t2 = line.find('\t', t1 + 1), t3 = line.find('\t', t2 + 1);
        out.push_back({{line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1, t3 - t2 - 1)}, std::stod(line.substr(0, t1))});
    }
    if (out.size() != count) throw std::runtime_error(path.string() + ": fewer than " + std::to_string(count) + " rows");
    return out;
}

/// A 3-layer, 16-wide BERT over that vocabulary.
inline starbucks::nn::bert_config small_config() {
    starbucks::nn::bert_config c;
    c.vocab_size = 30522;
    c.hidden_size = 16;
    c.num_hidden_layers = 3;
    c.num_attention_heads = 2;
    c.intermediate_size = 32;
    c.max_position_embeddings = 64;
    return c;
}

/// STS SRL on small_config(): pairs 1:4, 2:8, 3:16, texts cut to 24 tokens, dropout off.
inline starbucks::train::trainer_options small_sts_options(std::size_t batch_size) {
    starbucks::train::trainer_options o;
    o.objective.pairs = starbucks::matryoshka::pair_list::parse("1:4,2:8,3:16");
    o.batch_size = batch_size;
    o.max_length = 24;
    o.dropout = false;
    return o;
}

/// Retrieval groups from the first `count` STS-B test rows: the first sentence as the query, the
/// second as its positive, and the next row's second sentence as a negative.
inline std::vector<starbucks::train::example> sts_retrieval_groups(std::size_t count) {
    const auto rows = stsb_test_rows(count);
    std::vector<starbucks::train::example> data;
    for (std::size_t i = 0; i + 1 < rows.size(); ++i) {
        starbucks::train::example e;
        e.texts = {rows[i].texts[0], rows[i].texts[1], rows[i + 1].texts[1]};
        data.push_back(std::move(e));
    }
    return data;
}

/// Retrieval on small_config(): query, positive and one negative per group, GradCache chunks of
/// `chunk` (0: none), 2 steps from seed 11.
inline starbucks::train::trainer_options small_retrieval_options(std::size_t chunk) {
    starbucks::train::trainer_options o;
    o.objective.task = starbucks::train::task_kind::retrieval;
    o.objective.pairs = starbucks::matryoshka::pair_list::parse("1:4,2:8,3:16");
    o.objective.group_size = 2;
    o.batch_size = 4;
    o.query_max_length = 16;
    o.passage_max_length = 24;
    o.lr = 5e-3;
    o.seed = 11;
    o.max_steps = 2;
    o.grad_cache_chunk = chunk;
    return o;
}

/// The small-bert vocabulary of examples/models (8192 tokens), which SMAE's tests predict over.
inline starbucks::text::wordpiece small_bert_tokenizer() {
    return starbucks::text::wordpiece(starbucks::text::vocab::load_txt(std::filesystem::weakly_canonical(tests_dir()).parent_path() / "examples" /
                                                                      "models" / "small-bert" / "vocab.txt"));
}
/// Pre-training documents: each of the first `count` STS-B test pairs, joined and tokenized.
inline std::vector<std::vector<starbucks::text::token_id>> sts_documents(const starbucks::text::wordpiece& tok, std::size_t count) {
    std::vector<std::vector<starbucks::text::token_id>> docs;
    for (const auto& r : stsb_test_rows(count)) docs.push_back(tok.tokenize(r.texts[0] + " " + r.texts[1]));
    return docs;
}
/// SMAE on small_config() over that vocabulary: batches of 8 of up to 24 tokens, 2 steps from seed 11.
inline starbucks::train::pretrainer_options small_smae_options() {
    starbucks::train::pretrainer_options o;
    o.pairs = starbucks::matryoshka::pair_list::parse("1:4,2:8,3:16");
    o.batch_size = 8;
    o.max_length = 24;
    o.lr = 3e-3;
    o.seed = 11;
    o.max_steps = 2;
    return o;
}

/// Every weight of a model (anything with parameters()), concatenated in parameter order, on any backend.
template <class Model>
std::vector<float> weights_of(const Model& m) {
    std::vector<float> out;
    for (const auto& [name, value] : m.parameters())
        std::visit([&](const auto& v) {
            const auto h = starbucks::host_copy(v.value()); // device parameters are downloaded
            out.insert(out.end(), h.data(), h.data() + h.size());
        }, value);
    return out;
}

/// Step losses, then the final weights, of a run.
using run_result = std::pair<std::vector<double>, std::vector<float>>;

/// Runs trainer `t` (a trainer or pretrainer of `model`) to its end, checkpointing into `dir`
/// when one is given.
template <class Model, class Trainer>
run_result run_to_end(const Model& model, Trainer&& t, const std::filesystem::path& dir = {}) {
    std::vector<double> losses;
    t.run([&](const starbucks::train::step_report& r) { losses.push_back(r.loss); }, dir);
    return {losses, weights_of(model)};
}

/// A folder under the temp dir, empty at construction and removed at destruction.
struct fresh_dir {
    std::filesystem::path path;
    explicit fresh_dir(const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("starbucks-test-" + name + "-" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path);
    }
    ~fresh_dir() { std::filesystem::remove_all(path); }
};

} // namespace train_testing
