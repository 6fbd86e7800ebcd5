// SPDX-License-Identifier: Apache-2.0
// io::parse_bert_config / read_bert_config: a BERT config.json, with every rejection's message.
#include "testing.hpp"

#include <string>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_hf_config {

using namespace starbucks;
using starbucks::testing::error_message;

namespace {

/// A valid config with `extra` spliced in after the required keys (`extra` starts with a comma).
std::string config_with(const std::string& extra, const std::string& drop = "") {
    std::string s = "{";
    const char* keys[][2] = {{"hidden_size", "32"},   {"num_hidden_layers", "2"}, {"num_attention_heads", "4"},
                             {"intermediate_size", "37"}, {"vocab_size", "50"},   {"max_position_embeddings", "24"}};
    bool first = true;
    for (const auto& kv : keys) {
        if (drop == kv[0]) continue;
        s += std::string(first ? "" : ", ") + "\"" + kv[0] + "\": " + kv[1];
        first = false;
    }
    return s + extra + "}";
}

std::string parse_error(const std::string& text) {
    return error_message([&] { (void)io::parse_bert_config(text, "config.json"); });
}

} // namespace

TEST_CASE("hf_config: reads the required sizes and applies the defaults") {
    const auto c = io::parse_bert_config(config_with(""), "config.json");
    CHECK(c.hidden_size == 32);
    CHECK(c.num_hidden_layers == 2);
    CHECK(c.num_attention_heads == 4);
    CHECK(c.intermediate_size == 37);
    CHECK(c.vocab_size == 50);
    CHECK(c.max_position_embeddings == 24);
    CHECK(c.type_vocab_size == 2);
    CHECK(c.layer_norm_eps == 1e-12);
    CHECK(c.hidden_dropout_prob == 0.1);
    CHECK(c.attention_probs_dropout_prob == 0.1);
    CHECK(c.head_size() == 8);
}

TEST_CASE("hf_config: reads optional keys and ignores unknown ones") {
    const auto c = io::parse_bert_config(
        config_with(R"(, "type_vocab_size": 1, "layer_norm_eps": 1e-5, "hidden_act": "gelu", "hidden_dropout_prob": 0,
                       "attention_probs_dropout_prob": 0.25, "model_type": "bert", "id2label": {"0": "O"}, "use_cache": true)"),
        "config.json");
    CHECK(c.type_vocab_size == 1);
    CHECK(c.layer_norm_eps == 1e-5);
    CHECK(c.hidden_dropout_prob == 0.0);
    CHECK(c.attention_probs_dropout_prob == 0.25);
}

TEST_CASE("hf_config: reads the tiny BERT NER config.json") {
    const auto c = io::read_bert_config(std::string(STARBUCKS_TEST_DATA_DIR) + "/data/tiny-bert-ner/config.json");
    CHECK(c.hidden_size == 16);
    CHECK(c.num_hidden_layers == 1);
    CHECK(c.num_attention_heads == 1);
    CHECK(c.intermediate_size == 64);
    CHECK(c.vocab_size == 402);
    CHECK(c.max_position_embeddings == 16);
}

TEST_CASE("hf_config: a missing or ill-typed size names the file and key") {
    CHECK(parse_error(config_with("", "vocab_size")) ==
          "starbucks::format_error: config.json: key \"vocab_size\": missing; a BERT config needs it");
    CHECK(parse_error(config_with(", \"type_vocab_size\": \"2\"")) ==
          "starbucks::format_error: config.json: key \"type_vocab_size\": is a string, not an integer");
    CHECK(parse_error(R"({"hidden_size": 32.5})") == "starbucks::format_error: config.json: key \"hidden_size\": is 32.5, not an integer");
    CHECK(parse_error(R"({"hidden_size": 32.0})") == "starbucks::format_error: config.json: key \"hidden_size\": is 32.0, not an integer");
    CHECK(parse_error(R"({"hidden_size": null})") == "starbucks::format_error: config.json: key \"hidden_size\": is null, not an integer");
    CHECK(parse_error(R"({"hidden_size": -32})") == "starbucks::format_error: config.json: key \"hidden_size\": is -32; it must be positive");
    CHECK(parse_error(R"({"hidden_size": 0})") == "starbucks::format_error: config.json: key \"hidden_size\": is 0; it must be positive");
    CHECK(parse_error(R"({"hidden_size": 65537})") ==
          "starbucks::format_error: config.json: key \"hidden_size\": is 65537; the limit is 65536");
    CHECK(parse_error(R"({"hidden_size": 18446744073709551615})") ==
          "starbucks::format_error: config.json: key \"hidden_size\": is 18446744073709551615; the limit is 65536");
    // Out of double range: the strict parser refuses it before any key is looked at.
    CHECK(parse_error(R"({"hidden_size": 1e400})") ==
          "starbucks::format_error: config.json@20: not valid JSON: number overflow parsing '1e400'");
}

TEST_CASE("hf_config: layer_norm_eps and dropout probabilities are range-checked") {
    CHECK(parse_error(config_with(", \"layer_norm_eps\": 0")) ==
          "starbucks::format_error: config.json: key \"layer_norm_eps\": is 0; it must be finite and > 0");
    CHECK(parse_error(config_with(", \"layer_norm_eps\": -1e-12")) ==
          "starbucks::format_error: config.json: key \"layer_norm_eps\": is -1e-12; it must be finite and > 0");
    CHECK(parse_error(config_with(", \"layer_norm_eps\": \"1e-12\"")) ==
          "starbucks::format_error: config.json: key \"layer_norm_eps\": is a string, not a number");
    CHECK(parse_error(config_with(", \"hidden_dropout_prob\": 1")) ==
          "starbucks::format_error: config.json: key \"hidden_dropout_prob\": is 1; it must be in [0, 1)");
    CHECK(parse_error(config_with(", \"attention_probs_dropout_prob\": -0.1")) ==
          "starbucks::format_error: config.json: key \"attention_probs_dropout_prob\": is -0.1; it must be in [0, 1)");
}

TEST_CASE("hf_config: an activation or variant we do not implement is an unsupported_error naming it") {
    CHECK(parse_error(config_with(", \"hidden_act\": \"gelu_new\"")) ==
          "starbucks::unsupported_error: config.json: key \"hidden_act\": \"gelu_new\" is not supported; only \"gelu\" (the erf form) is implemented");
    CHECK(parse_error(config_with(", \"hidden_act\": \"relu\"")) ==
          "starbucks::unsupported_error: config.json: key \"hidden_act\": \"relu\" is not supported; only \"gelu\" (the erf form) is implemented");
    CHECK(parse_error(config_with(", \"hidden_act\": 3")) ==
          "starbucks::format_error: config.json: key \"hidden_act\": is a number, not a string");
    CHECK(parse_error(config_with(", \"model_type\": \"roberta\"")) ==
          "starbucks::unsupported_error: config.json: key \"model_type\": \"roberta\" is not supported; only \"bert\" models are read");
    CHECK(parse_error(config_with(", \"position_embedding_type\": \"relative_key\"")) ==
          "starbucks::unsupported_error: config.json: key \"position_embedding_type\": \"relative_key\" is not supported; only "
          "\"absolute\" positions are implemented");
}

TEST_CASE("hf_config: hidden_size must be a multiple of num_attention_heads") {
    std::string text = config_with("");
    text.replace(text.find("\"num_attention_heads\": 4"), 24, "\"num_attention_heads\": 5");
    CHECK(parse_error(text) ==
          "starbucks::model_error: config.json: key \"num_attention_heads\": hidden_size 32 is not a multiple of num_attention_heads 5");
}

TEST_CASE("hf_config: malformed JSON is rejected with its byte offset") {
    CHECK(parse_error(R"({"hidden_size": 32, "hidden_size": 64})") ==
          "starbucks::format_error: config.json@20: key \"hidden_size\": duplicate key; the first is at config.json@1");
    CHECK(parse_error("[1, 2]") == "starbucks::format_error: config.json@0: the JSON value is an array, not an object");
    CHECK(parse_error("{\"hidden_size\": 32,}").rfind("starbucks::format_error: config.json@", 0) == 0);
    CHECK(parse_error("{\"a\": \"\xff\"}") == "starbucks::format_error: config.json@7: not valid UTF-8: byte never used in UTF-8");
}

TEST_CASE("hf_config: an unreadable path is an io_error") {
    CHECK_THROWS_AS((void)io::read_bert_config(std::string(STARBUCKS_TEST_DATA_DIR) + "/data/no-such/config.json"), io_error);
}

} }  // namespace test_hf_config
