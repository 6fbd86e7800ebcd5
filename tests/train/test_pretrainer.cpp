// SPDX-License-Identifier: Apache-2.0
// train/masking.hpp properties and train/pretrainer.hpp on a small random BERT with the uncased
// BERT tokenizer and real sentences: the masks keep METHOD.md's invariants, SMAE and MLM lower
// their losses, a killed run resumes bitwise, and NaN steps are skipped and counted.
#include "testing.hpp"
#include "train_testing.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <starbucks/train/pretrainer.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_pretrainer {

using namespace starbucks;
namespace fs = std::filesystem;
namespace mt = starbucks::matryoshka;
using train_testing::weights_of, train_testing::bert_tokenizer, train_testing::fresh_dir, train_testing::small_config, train_testing::tests_dir;

namespace {

/// The first `count` first-sentences of the bundled STS-B test file, tokenized without specials.
std::vector<std::vector<text::token_id>> documents(const text::wordpiece& tok, std::size_t count) {
    std::ifstream in(tests_dir().parent_path() / "examples" / "data" / "stsb-test.tsv");
    REQUIRE(in);
    std::string line;
    std::getline(in, line);
    std::vector<std::vector<text::token_id>> out;
    while (out.size() < count && std::getline(in, line)) {
        const auto t1 = line.find('\t'), t2 = line.find('\t', t1 + 1), t3 = line.find('\t', t2 + 1);
        out.push_back(tok.tokenize(line.substr(t1 + 1, t2 - t1 - 1) + " " + line.substr(t2 + 1, t3 - t2 - 1)));
    }
    REQUIRE(out.size() == count);
    return out;
}

/// The main job's 8192-piece vocabulary: the MLM head's cost scales with it, and these tests
/// also run under the sanitizers.
text::wordpiece small_tokenizer() {
    return text::wordpiece(text::vocab::load_txt(tests_dir().parent_path() / "examples" / "models" / "small-bert" / "vocab.txt"));
}

nn::bert_config small_vocab_config() {
    auto c = small_config();
    c.vocab_size = 8192;
    return c;
}

train::pretrainer_options small_options() {
    train::pretrainer_options o;
    o.pairs = mt::pair_list::parse("1:4,2:8,3:16");
    o.batch_size = 8;
    o.max_length = 24;
    o.lr = 3e-3;
    o.warmup_ratio = 0.1;
    o.seed = 11;
    return o;
}

/// Mean pre-training loss over the first `batches` micro-batches of epoch 0, no dropout, no gradient.
double mean_loss(nn::bert_for_smae<float>& m, train::pretrainer<float, backend::reference>& t, std::size_t batches) {
    autograd::no_grad off;
    double sum = 0;
    for (std::size_t i = 0; i < batches; ++i)
        sum += train::smae_objective(m, train::collate<float, backend::reference>(t.sequences(0, i)), t.options().pairs, t.options().method).total();
    return sum / double(batches);
}

} // namespace

TEST_CASE("masking: budgets, encoder ⊆ decoder, whole words, specials never masked, deterministic") {
    const auto tok = bert_tokenizer();
    const auto roles = train::token_roles::of(tok);
    const auto docs = documents(tok, 200);
    std::size_t encoder_total = 0, decoder_total = 0, replaced = 0, randomised = 0, kept = 0;
    for (std::size_t k = 0; k < docs.size(); ++k) {
        const auto ids = train::sequence_window(docs[k], 32, roles, 7, k);
        REQUIRE(ids.size() <= 32);
        CHECK(ids.front() == roles.cls_id);
        CHECK(ids.back() == roles.sep_id);
        const auto m = train::mask_sequence(ids, roles, 7, k);
        const double n = double(ids.size());
        CHECK(m.encoder_budget == std::max<std::size_t>(1, std::size_t(std::lround(0.2 * n))));
        CHECK(m.decoder_budget == std::max<std::size_t>(1, std::size_t(std::lround(0.4 * n))));
        std::size_t enc = 0, dec = 0;
        for (std::size_t p = 0; p < ids.size(); ++p) {
            const bool e = m.encoder.labels[p] != train::not_predicted, d = m.decoder.labels[p] != train::not_predicted;
            if (e) CHECK(d); // encoder-masked ⊆ decoder-masked
            if (roles.is_special(ids[p])) CHECK_FALSE(d);
            if (e) CHECK(m.encoder.labels[p] == ids[p]);
            if (!e) CHECK(m.encoder.ids[p] == ids[p]);
            if (!d) CHECK(m.decoder.ids[p] == ids[p]);
            if (d) {
                if (m.decoder.ids[p] == roles.mask_id) ++replaced;
                else if (m.decoder.ids[p] == ids[p]) ++kept;
                else ++randomised;
            }
            enc += e;
            dec += d;
        }
        CHECK(enc <= m.encoder_budget);
        CHECK(dec <= m.decoder_budget);
        // Whole words: every piece of a word shares its word's fate.
        for (const auto& w : train::whole_words(ids, roles))
            for (std::size_t p : w) {
                CHECK((m.decoder.labels[p] != train::not_predicted) == (m.decoder.labels[w.front()] != train::not_predicted));
                CHECK((m.encoder.labels[p] != train::not_predicted) == (m.encoder.labels[w.front()] != train::not_predicted));
            }
        encoder_total += enc;
        decoder_total += dec;
        const auto again = train::mask_sequence(ids, roles, 7, k);
        CHECK(again.decoder.ids == m.decoder.ids);
        CHECK(again.encoder.ids == m.encoder.ids);
    }
    MESSAGE("decoder positions: " << decoder_total << " ([MASK] " << replaced << ", random " << randomised << ", kept " << kept
                                  << "); encoder positions: " << encoder_total);
    CHECK(encoder_total > 0);
    CHECK(double(encoder_total) / double(decoder_total) > 0.4);
    const double total = double(replaced + randomised + kept);
    CHECK(double(replaced) / total == doctest::Approx(0.8).epsilon(0.05));
    CHECK(double(randomised) / total == doctest::Approx(0.1).epsilon(0.05));
    // Another seed, other masks.
    const auto ids = train::sequence_window(docs[0], 32, roles, 7, 0);
    CHECK(train::mask_sequence(ids, roles, 8, 0).decoder.labels != train::mask_sequence(ids, roles, 7, 0).decoder.labels);
}

TEST_CASE("masking: long documents get a window of max_length - 2 pieces that moves with the key") {
    const auto tok = bert_tokenizer();
    const auto roles = train::token_roles::of(tok);
    std::vector<text::token_id> long_doc;
    for (const auto& d : documents(tok, 30)) long_doc.insert(long_doc.end(), d.begin(), d.end());
    REQUIRE(long_doc.size() > 100);
    std::set<std::int64_t> starts;
    for (std::uint64_t k = 0; k < 20; ++k) {
        const auto w = train::sequence_window(long_doc, 16, roles, 3, k);
        REQUIRE(w.size() == 16);
        const auto at = std::search(long_doc.begin(), long_doc.end(), w.begin() + 1, w.end() - 1);
        REQUIRE(at != long_doc.end());
        starts.insert(at - long_doc.begin());
    }
    CHECK(starts.size() > 10);
    CHECK_THROWS_AS(train::sequence_window(long_doc, 2, roles, 3, 0), usage_error);
}

TEST_CASE("pretrainer: SMAE and plain MLM lower their losses on real sentences") {
    const auto tok = small_tokenizer();
    const auto docs = documents(tok, 16);
    for (const auto method : {train::pretrain_method::smae, train::pretrain_method::mlm}) {
        CAPTURE(train::to_string(method));
        nn::bert_for_smae<float> model(small_vocab_config(), 3);
        auto o = small_options();
        o.method = method;
        o.epochs = 10;
        o.lr = 1e-2;
        o.dropout = false;
        train::pretrainer<float, backend::reference> t(model, tok, docs, o);
        const double before = mean_loss(model, t, 2);
        std::vector<train::step_report> reports;
        t.run([&](const train::step_report& r) { reports.push_back(r); });
        const double after = mean_loss(model, t, 2);
        MESSAGE(train::to_string(method) << " loss before " << before << ", after " << after);
        CHECK(after < 0.8 * before);
        REQUIRE(reports.size() == 20);
        if (method == train::pretrain_method::smae) {
            REQUIRE(reports[0].terms.size() == 6);
            CHECK(reports[0].terms[0].name == "mlm_n1_d4");
            CHECK(reports[0].terms[1].name == "mae_n1_d4");
            CHECK(reports[0].terms[0].weight == doctest::Approx(1.0 / 6));
        } else {
            REQUIRE(reports[0].terms.size() == 1);
            CHECK(reports[0].terms[0].name == "mlm_n3_d16");
        }
    }
}

TEST_CASE("pretrainer: a run killed after a checkpoint resumes to bitwise the weights of an uninterrupted run") {
    const auto tok = small_tokenizer();
    const auto docs = documents(tok, 10);
    auto o = small_options();
    o.batch_size = 4;
    o.max_steps = 5;
    o.save_steps = 2;
    o.accumulation = 2; // micro-batches cross the epoch boundary (3 batches per epoch)
    nn::bert_for_smae<float> straight(small_vocab_config(), 4);
    {
        train::pretrainer<float, backend::reference> t(straight, tok, docs, o);
        t.run({});
    }
    fresh_dir dir("pretrain-resume");
    nn::bert_for_smae<float> killed(small_vocab_config(), 4);
    {
        train::pretrainer<float, backend::reference> t(killed, tok, docs, o);
        struct killed_at_step_3 {};
        CHECK_THROWS_AS(t.run([](const train::step_report& r) { if (r.step == 3) throw killed_at_step_3{}; }, dir.path), killed_at_step_3);
    }
    const auto saved = train::list_checkpoints(dir.path);
    REQUIRE(saved.size() == 1);
    nn::bert_for_smae<float> resumed(small_vocab_config(), 99);
    train::pretrainer<float, backend::reference> t(resumed, tok, docs, o);
    t.resume(saved[0]);
    CHECK(t.state().step == 2);
    t.run({}, dir.path);
    const auto a = weights_of(straight), b = weights_of(resumed);
    REQUIRE(a.size() == b.size());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);

    auto other = o;
    other.method = train::pretrain_method::mlm;
    nn::bert_for_smae<float> m(small_vocab_config(), 4);
    train::pretrainer<float, backend::reference> mismatched(m, tok, docs, other);
    CHECK_THROWS_WITH_AS(mismatched.resume(train::list_checkpoints(dir.path).back()), doctest::Contains("option \"objective\""), usage_error);
}

TEST_CASE("pretrainer: NaN steps are skipped and counted, as METHOD.md says; bad setups are usage errors") {
    const auto tok = small_tokenizer();
    const auto docs = documents(tok, 16);
    auto o = small_options();
    o.max_steps = 2;
    nn::bert_for_smae<float> model(small_vocab_config(), 6);
    model.decoder.ffn.output.bias.mutable_value()(2) = std::numeric_limits<float>::quiet_NaN();
    const auto before = weights_of(model);
    {
        train::pretrainer<float, backend::reference> t(model, tok, docs, o);
        std::size_t skipped = 0;
        t.run([&](const train::step_report& r) { skipped += r.skipped; });
        CHECK(skipped == 2);
        CHECK(t.state().skipped_steps == 2);
    }
    const auto after = weights_of(model);
    CHECK(std::memcmp(before.data(), after.data(), before.size() * sizeof(float)) == 0);

    auto too_long = o;
    too_long.max_length = 65;
    CHECK_THROWS_WITH_AS(train::pretrainer<float>(model, tok, docs, too_long), doctest::Contains("max_position_embeddings"), usage_error);
    auto deep = o;
    deep.pairs = mt::pair_list::parse("2:8,4:16");
    CHECK_THROWS_AS(train::pretrainer<float>(model, tok, docs, deep), usage_error);
    CHECK_THROWS_AS(train::pretrainer<float>(model, tok, {}, o), usage_error);
    auto c = small_vocab_config();
    c.vocab_size = 1000;
    nn::bert_for_smae<float> small_vocab(c, 1);
    CHECK_THROWS_WITH_AS(train::pretrainer<float>(small_vocab, tok, docs, o), doctest::Contains("outside the model's vocab_size 1000"), usage_error);
}

} }  // namespace test_pretrainer
