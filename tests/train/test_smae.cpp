// SPDX-License-Identifier: Apache-2.0
// SMAE against its Python re-implementation (tests/fixtures/smae/generate.py): the Philox words,
// the masks of 42 real texts (windows, whole words, 80/10/10), and the SMAE / MLM loss values and
// every gradient (encoder, tied head, decoder) of a transformers BertForMaskedLM.
#include "testing.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include <starbucks/io/hf_config.hpp>
#include <starbucks/io/safetensors.hpp>
#include <starbucks/train/smae_objective.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_smae {

using namespace starbucks;
namespace fs = std::filesystem;

namespace {

fs::path fixtures() { return fs::path(__FILE__).parent_path().parent_path() / "fixtures"; }

std::vector<std::int64_t> ints(const nlohmann::json& j) { return j.get<std::vector<std::int64_t>>(); }

/// ||a - b|| / ||b|| (Euclidean, over the whole tensor): a tensor's error relative to its size,
/// which single elements near zero cannot inflate. A tensor whose reference is zero up to
/// rounding (the key biases': softmax ignores a shift shared by every key) gives ||a - b|| instead.
template <class VA, class VB>
double relative_error(const VA& a, const VB& b) {
    REQUIRE(a.size() == b.size());
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = double(a.data()[i]) - double(b.data()[i]);
        diff += d * d;
        norm += double(b.data()[i]) * double(b.data()[i]);
    }
    return norm < 1e-24 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

/// Loads the fixture model, runs `method` on the fixture batch, and compares every term and gradient.
template <class T>
void check_against_fixture(train::pretrain_method method, double tolerance) {
    const auto dir = fixtures() / "smae";
    const auto config = io::read_bert_config(fixtures() / "mlm" / "random-mlm" / "config.json");
    nn::bert_for_smae<T> model(config);
    model.mlm.load(io::safetensors_file(fixtures() / "mlm" / "random-mlm" / "model.safetensors"));
    model.init_decoder_from_encoder();
    const io::safetensors_file ref(dir / "smae-loss.safetensors");
    train::masked_batch<T, backend::reference> batch{ref.read<std::int64_t, dextents<2>>("enc_ids"), ref.read<std::int64_t, dextents<2>>("enc_labels"),
                                                     ref.read<std::int64_t, dextents<2>>("dec_ids"), ref.read<std::int64_t, dextents<2>>("dec_labels"),
                                                     nn::mask_tensor<T, backend::reference>(dextents<2>(0, 0))};
    const auto mask = ref.read<double, dextents<2>>("attention_mask"); // F64 does not narrow implicitly
    batch.mask = nn::mask_tensor<T, backend::reference>(mask.extents());
    std::transform(mask.data(), mask.data() + mask.size(), batch.mask.data(), [](double x) { return static_cast<T>(x); });
    std::ifstream meta(dir / "smae-loss.json");
    const auto j = nlohmann::json::parse(meta);
    std::vector<matryoshka::size_pair> list;
    for (const auto& p : j["pairs"]) list.push_back({p[0].get<std::size_t>(), p[1].get<std::size_t>()});
    const matryoshka::pair_list pairs(list, "smae-loss.json");

    autograd::tape tape;
    auto on = tape.activate();
    auto total = train::smae_objective(model, batch, pairs, method);
    total.backward(tape);
    const bool smae = method == train::pretrain_method::smae;
    const auto expect = [&](const std::string& name) { return ref.read<double, dextents<1>>(name)(0); };
    if (smae) {
        REQUIRE(total.terms().size() == 4);
        for (const auto& t : total.terms()) {
            const std::string kind = t.name.substr(0, 3), pair = t.name.substr(4); // mlm / mae, n1_d16
            const std::string name = "loss." + kind + "." + pair.substr(0, pair.find('_')) + "." + pair.substr(pair.find('_') + 1);
            CAPTURE(name);
            CHECK(std::abs(t.value - expect(name)) <= tolerance * std::abs(expect(name)));
        }
        CHECK(std::abs(total.total() - expect("loss.total")) <= tolerance * expect("loss.total"));
    } else {
        REQUIRE(total.terms().size() == 1);
        CHECK(std::abs(total.total() - expect("loss.mlm_only")) <= tolerance * expect("loss.mlm_only"));
    }
    double worst = 0;
    std::size_t compared = 0;
    for (const auto& [name, value] : model.parameters()) {
        const bool decoder = name.rfind("decoder.", 0) == 0;
        if (decoder && !smae) continue;
        const std::string key = (smae ? "grad." : "grad_mlm.") + name;
        CAPTURE(key);
        REQUIRE(ref.contains(key));
        std::visit([&](const auto& v) {
            using E = std::decay_t<decltype(v.extents())>;
            const auto expected = ref.read<double, E>(key);
            const double e = relative_error(v.grad(), expected);
            worst = std::max(worst, e);
            CHECK(e <= tolerance);
        }, value);
        ++compared;
    }
    MESSAGE(train::to_string(method) << " in " << (sizeof(T) == 8 ? "float64" : "float32") << ": " << compared
                                     << " gradients, worst relative error " << worst);
    CHECK(compared == (smae ? 58u : 42u)); // 39 encoder + 3 head (+ 16 decoder)
}

} // namespace

TEST_CASE("smae: the Philox words agree with the fixture's Python Philox") {
    std::ifstream in(fixtures() / "smae" / "masking.json");
    const auto j = nlohmann::json::parse(in);
    REQUIRE(j["philox_checks"].size() == 14);
    for (const auto& c : j["philox_checks"])
        CHECK(rng_stream{c["seed"].get<std::uint64_t>(), c["stream"].get<std::uint64_t>()}.bits(c["i"].get<std::uint64_t>()) ==
              c["bits"].get<std::uint32_t>());
}

TEST_CASE("smae: tokens, windows and both masked copies equal the reference collator on 42 texts") {
    std::ifstream in(fixtures() / "smae" / "masking.json");
    const auto j = nlohmann::json::parse(in);
    const auto tok = text::wordpiece::load(fixtures() / "tokenizer");
    const auto roles = train::token_roles::of(tok);
    REQUIRE(roles.mask_id == j["mask_id"].get<std::int64_t>());
    REQUIRE(roles.vocab_size() == j["vocab_size"].get<std::size_t>());
    const auto seed = j["seed"].get<std::uint64_t>();
    const auto max_length = j["max_length"].get<std::size_t>();
    std::size_t windows = 0;
    for (const auto& c : j["cases"]) {
        const auto key = c["key"].get<std::uint64_t>();
        CAPTURE(key);
        const auto pieces = tok.tokenize(c["text"].get<std::string>());
        REQUIRE(std::vector<std::int64_t>(pieces.begin(), pieces.end()) == ints(c["pieces"]));
        const auto ids = train::sequence_window(pieces, max_length, roles, seed, key);
        REQUIRE(ids == ints(c["ids"]));
        windows += pieces.size() > max_length - 2;
        std::vector<std::vector<std::size_t>> words;
        for (const auto& w : train::whole_words(ids, roles)) words.push_back(w);
        CHECK(words == c["words"].get<std::vector<std::vector<std::size_t>>>());
        const auto m = train::mask_sequence(ids, roles, seed, key);
        CHECK(m.encoder_budget == c["enc_budget"].get<std::size_t>());
        CHECK(m.decoder_budget == c["dec_budget"].get<std::size_t>());
        CHECK(m.encoder.ids == ints(c["enc_ids"]));
        CHECK(m.encoder.labels == ints(c["enc_labels"]));
        CHECK(m.decoder.ids == ints(c["dec_ids"]));
        CHECK(m.decoder.labels == ints(c["dec_labels"]));
    }
    CHECK(j["cases"].size() == 42);
    CHECK(windows == 8);
}

TEST_CASE("smae: SMAE and plain-MLM losses and every gradient match the PyTorch re-implementation") {
    check_against_fixture<double>(train::pretrain_method::smae, 1e-9);
    check_against_fixture<double>(train::pretrain_method::mlm, 1e-9);
    check_against_fixture<float>(train::pretrain_method::smae, 1e-5);
    check_against_fixture<float>(train::pretrain_method::mlm, 1e-5);
}

} }  // namespace test_smae
