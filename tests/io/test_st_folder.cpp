// SPDX-License-Identifier: Apache-2.0
// io::parse_st_folder / read_st_folder: the defaults a sentence-transformers folder sets, and
// every rejection's message (each names the file).
#include "testing.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include <unistd.h>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_st_folder {

using namespace starbucks;
using starbucks::testing::error_message;
namespace fs = std::filesystem;

namespace {

/// The files of a folder by relative path ("1_Pooling/config.json"), held in memory.
using files_map = std::map<std::string, std::string>;

nn::bert_config model_config() {
    nn::bert_config c;
    c.hidden_size = 16;
    c.max_position_embeddings = 512;
    return c;
}

io::st_file_source source(const files_map& files) {
    return [&files](const fs::path& relative) -> std::optional<std::string> {
        const auto it = files.find(relative.generic_string());
        if (it == files.end()) return std::nullopt;
        return it->second;
    };
}

io::st_folder_defaults parse(const files_map& files) { return io::parse_st_folder(source(files), model_config(), "m"); }

std::string parse_error(const files_map& files) {
    return error_message([&] { (void)parse(files); });
}

/// A committed fixture of tests/cli/st/.
std::string fixture(const std::string& name) {
    std::ifstream in(std::string(STARBUCKS_TEST_DATA_DIR) + "/cli/st/" + name, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const std::string modules_mean = R"([
  {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}
])";

/// modules.json listing one module of `type` at `path` after the Transformer.
std::string modules_with(const std::string& type, const std::string& path) {
    return R"([{"path": "", "type": "sentence_transformers.models.Transformer"}, {"path": ")" + path + R"(", "type": ")" + type +
           R"("}])";
}

/// A folder with mean pooling and `sbert` as its sentence_bert_config.json.
files_map with_sbert(const std::string& sbert) {
    return {{"modules.json", modules_mean}, {"1_Pooling/config.json", R"({"pooling_mode": "mean"})"}, {"sentence_bert_config.json", sbert}};
}

/// A folder with `pooling` as its Pooling module's config.json.
files_map with_pooling(const std::string& pooling) { return {{"modules.json", modules_mean}, {"1_Pooling/config.json", pooling}}; }

using testing::temp_dir;

} // namespace

TEST_CASE("st_folder: a plain Hugging Face folder leaves every default unset") {
    const auto d = parse({});
    CHECK_FALSE(d.pooling);
    CHECK(d.pooling_file.empty());
    CHECK(d.pooling_problem.empty());
    CHECK_FALSE(d.normalize);
    CHECK_FALSE(d.max_length);
    CHECK_FALSE(d.lower_case);
    // Without modules.json, tokenizer_config.json's model_max_length is a plain HF setting: ignored.
    CHECK_FALSE(parse({{"tokenizer_config.json", R"({"model_max_length": 128})"}}).max_length);
}

TEST_CASE("st_folder: CLS pooling and normalisation from the committed modules.json and Pooling config") {
    const auto d = parse({{"modules.json", fixture("modules_cls_normalize.json")}, {"1_Pooling/config.json", fixture("pooling_cls.json")}});
    CHECK(d.pooling == "cls");
    CHECK(d.pooling_problem.empty());
    CHECK(d.normalize);
    CHECK_FALSE(d.max_length);
    CHECK_FALSE(d.lower_case);
}

TEST_CASE("st_folder: mean pooling from the pooling_mode string or the older boolean keys") {
    CHECK(parse(with_pooling(R"({"word_embedding_dimension": 16, "pooling_mode": "mean"})")).pooling == "mean");
    CHECK(parse(with_pooling(R"({"embedding_dimension": 16, "pooling_mode": "cls"})")).pooling == "cls");
    const auto d = parse(with_pooling(R"({"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": false, "pooling_mode_max_tokens": null})"));
    CHECK(d.pooling == "mean");
    CHECK_FALSE(d.normalize);
    // pooling_mode, when present, decides alone.
    CHECK(parse(with_pooling(R"({"pooling_mode": "cls", "pooling_mode_mean_tokens": true})")).pooling == "cls");
}

TEST_CASE("st_folder: a pooling mode other than one of mean or cls is a problem named for the caller, not an error") {
    const auto max = parse({{"modules.json", fixture("modules_cls_normalize.json")}, {"1_Pooling/config.json", fixture("pooling_max.json")}});
    CHECK_FALSE(max.pooling);
    CHECK(max.pooling_file == "m/1_Pooling/config.json");
    CHECK(max.pooling_problem == "asks for pooling max; starbucks does mean or cls");
    CHECK(parse(with_pooling("{}")).pooling_problem == "sets no pooling mode");
    CHECK(parse(with_pooling(R"({"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true})")).pooling_problem ==
          "asks for pooling mean, cls; starbucks does mean or cls");
    CHECK(parse(with_pooling(R"({"pooling_mode": "lasttoken"})")).pooling_problem == "asks for pooling lasttoken; starbucks does mean or cls");
    // A mode string's control characters reach the message escaped.
    CHECK(parse(with_pooling(R"({"pooling_mode": "m\u001b[2Jx"})")).pooling_problem == "asks for pooling m\\x1b[2Jx; starbucks does mean or cls");
}

TEST_CASE("st_folder: max_seq_length and do_lower_case from sentence_bert_config.json") {
    const auto d = parse({{"sentence_bert_config.json", fixture("sbert_short_lower.json")}});
    CHECK(d.max_length == 6u);
    CHECK(d.lower_case);
    const auto e = parse(with_sbert(R"({"max_seq_length": 512, "do_lower_case": false})"));
    CHECK(e.max_length == 512u);
    CHECK_FALSE(e.lower_case);
    const auto n = parse(with_sbert(R"({"max_seq_length": null, "do_lower_case": null})"));
    CHECK_FALSE(n.max_length);
    CHECK_FALSE(n.lower_case);
}

TEST_CASE("st_folder: tokenizer_config.json's model_max_length stands in for max_seq_length in a folder with modules.json") {
    files_map f = with_pooling(R"({"pooling_mode": "mean"})");
    f["tokenizer_config.json"] = R"({"model_max_length": 128, "do_lower_case": true})";
    CHECK(parse(f).max_length == 128u);
    f["sentence_bert_config.json"] = R"({"max_seq_length": 64})";
    CHECK(parse(f).max_length == 64u); // sentence_bert_config.json wins
    f.erase("sentence_bert_config.json");
    for (const char* ignored : {R"({"model_max_length": 1000000000000000019884624838656})", R"({"model_max_length": 513})",
                                R"({"model_max_length": 1})", R"({"model_max_length": "128"})", R"([128])"}) {
        CAPTURE(ignored);
        f["tokenizer_config.json"] = ignored;
        CHECK_FALSE(parse(f).max_length);
    }
    f["tokenizer_config.json"] = "{";
    CHECK(parse_error(f).rfind("starbucks::format_error: m/tokenizer_config.json@1: not valid JSON", 0) == 0);
}

TEST_CASE("st_folder: modules.json must be an array of modules with a string type and path") {
    CHECK(parse_error({{"modules.json", "[{"}}).rfind("starbucks::format_error: m/modules.json@2: not valid JSON: ", 0) == 0);
    CHECK(parse_error({{"modules.json", "{}"}}) == "starbucks::format_error: m/modules.json: top level must be an array of modules");
    CHECK(parse_error({{"modules.json", "7"}}) ==
          "starbucks::format_error: m/modules.json@0: the JSON value is a number, not an object or an array");
    CHECK(parse_error({{"modules.json", R"([{"type": "sentence_transformers.models.Normalize"}])"}}) ==
          "starbucks::format_error: m/modules.json: module 0: needs a string \"type\" and a string \"path\"");
    CHECK(parse_error({{"modules.json", R"([{"path": "", "type": "x.Transformer"}, {"path": 2, "type": "x.Normalize"}])"}}) ==
          "starbucks::format_error: m/modules.json: module 1: needs a string \"type\" and a string \"path\"");
    CHECK(parse_error({{"modules.json", R"(["Transformer"])"}}) ==
          "starbucks::format_error: m/modules.json: module 0: needs a string \"type\" and a string \"path\"");
    CHECK(parse_error({{"modules.json", R"([{"path": "a", "type": "x.Normalize", "path": "b"}])"}}) ==
          "starbucks::format_error: m/modules.json@38: key \"path\": duplicate key; the first is at m/modules.json@2");
    CHECK(parse_error({{"modules.json", R"([{"path": "a\u0000b", "type": "x.Normalize"}])"}}) ==
          "starbucks::format_error: m/modules.json: module 0: path \"a\\x00b\" holds a NUL byte");
    CHECK(parse_error({{"modules.json", "[] x"}}) ==
          "starbucks::format_error: m/modules.json@3: byte 0x78 after the closing ']'; only whitespace may surround the array");
}

TEST_CASE("st_folder: a Dense or unknown module, a Transformer elsewhere or a second Pooling module is unsupported") {
    CHECK(parse_error({{"modules.json", fixture("modules_dense.json")}, {"1_Pooling/config.json", fixture("pooling_cls.json")}}) ==
          "starbucks::unsupported_error: m/modules.json: module 2: type \"sentence_transformers.models.Dense\": starbucks runs "
          "Transformer, Pooling and Normalize only");
    CHECK(parse_error({{"modules.json", modules_with("Dropout\\u0007", "2")}}) ==
          "starbucks::unsupported_error: m/modules.json: module 1: type \"Dropout\\x07\": starbucks runs Transformer, Pooling and "
          "Normalize only");
    CHECK(parse_error({{"modules.json", R"([{"path": "0_Transformer", "type": "sentence_transformers.models.Transformer"}])"}}) ==
          "starbucks::unsupported_error: m/modules.json: module 0: the Transformer lives in \"0_Transformer\"; pass --model "
          "m/0_Transformer");
    files_map two = with_pooling(R"({"pooling_mode": "mean"})");
    two["modules.json"] = R"([{"path": "1_Pooling", "type": "x.Pooling"}, {"path": "1_Pooling", "type": "x.Pooling"}])";
    CHECK(parse_error(two) == "starbucks::unsupported_error: m/modules.json: module 1: a second Pooling module; starbucks runs one");
}

TEST_CASE("st_folder: the Pooling config must exist, be an object, and agree with config.json's hidden_size") {
    CHECK(parse_error({{"modules.json", modules_mean}}) ==
          "starbucks::io_error: m/1_Pooling/config.json: cannot read: No such file or directory (m/modules.json names a Pooling "
          "module in \"1_Pooling\")");
    CHECK(parse_error(with_pooling("[]")) == "starbucks::format_error: m/1_Pooling/config.json: top level must be a JSON object");
    CHECK(parse_error(with_pooling("not json")).rfind("starbucks::format_error: m/1_Pooling/config.json@1: not valid JSON: ", 0) == 0);
    CHECK(parse_error(with_pooling(R"({"word_embedding_dimension": 32, "pooling_mode": "mean"})")) ==
          "starbucks::model_error: m/1_Pooling/config.json: key \"word_embedding_dimension\": 32 disagrees with config.json's "
          "hidden_size 16");
    CHECK(parse_error(with_pooling(R"({"embedding_dimension": "16"})")) ==
          "starbucks::model_error: m/1_Pooling/config.json: key \"embedding_dimension\": \"16\" disagrees with config.json's "
          "hidden_size 16");
    CHECK(parse_error(with_pooling(R"({"pooling_mode": 1})")) ==
          "starbucks::format_error: m/1_Pooling/config.json: key \"pooling_mode\": must be a string");
    CHECK(parse_error(with_pooling(R"({"pooling_mode_cls_token": "yes"})")) ==
          "starbucks::format_error: m/1_Pooling/config.json: key \"pooling_mode_cls_token\": must be true or false");
    // The module's path decides where its config is; the name in errors follows it.
    files_map moved = {{"modules.json", modules_with("sentence_transformers.models.Pooling", "pool\\u0001")}, {"pool\x01/config.json", "[]"}};
    CHECK(parse_error(moved) == "starbucks::format_error: m/pool\\x01/config.json: top level must be a JSON object");
}

TEST_CASE("st_folder: sentence_bert_config.json's max_seq_length must be a token count the model holds") {
    for (const char* bad : {"-1", "0", "1", "6.5", "6.0", "\"128\"", "true", "[128]", "1e400"}) {
        CAPTURE(bad);
        const std::string message = parse_error(with_sbert(std::string(R"({"max_seq_length": )") + bad + "}"));
        CHECK(message.rfind("starbucks::format_error: m/sentence_bert_config.json", 0) == 0);
        if (std::string(bad) != "1e400") {
            CHECK(message == std::string("starbucks::format_error: m/sentence_bert_config.json: key \"max_seq_length\": ") + bad +
                                 " is not a token count >= 2");
        }
    }
    CHECK(parse_error({{"sentence_bert_config.json", fixture("sbert_too_long.json")}}) ==
          "starbucks::model_error: m/sentence_bert_config.json: key \"max_seq_length\": 1000 exceeds config.json's "
          "max_position_embeddings 512");
    CHECK(parse_error(with_sbert(R"({"max_seq_length": 18446744073709551615})")) ==
          "starbucks::model_error: m/sentence_bert_config.json: key \"max_seq_length\": 18446744073709551615 exceeds config.json's "
          "max_position_embeddings 512");
    // A long value is cut in the message.
    const std::string long_value = parse_error(with_sbert(R"({"max_seq_length": ")" + std::string(500, 'x') + "\"}"));
    CHECK(long_value.size() < 200);
    CHECK(long_value.find("...") != std::string::npos);
}

TEST_CASE("st_folder: sentence_bert_config.json must be a strict JSON object with a boolean do_lower_case") {
    CHECK(parse_error(with_sbert(R"({"do_lower_case": "true"})")) ==
          "starbucks::format_error: m/sentence_bert_config.json: key \"do_lower_case\": must be true or false");
    CHECK(parse_error(with_sbert("[]")) == "starbucks::format_error: m/sentence_bert_config.json: top level must be a JSON object");
    CHECK(parse_error(with_sbert(R"({"max_seq_length": 8, "max_seq_length": 16})")) ==
          "starbucks::format_error: m/sentence_bert_config.json@22: key \"max_seq_length\": duplicate key; the first is at "
          "m/sentence_bert_config.json@1");
    CHECK(parse_error(with_sbert(R"({"max_seq_length": 8,})")).rfind("starbucks::format_error: m/sentence_bert_config.json@", 0) == 0);
    CHECK(parse_error(with_sbert("{\"do_lower_case\": \"\xc0\xaf\"}")) ==
          "starbucks::format_error: m/sentence_bert_config.json@19: not valid UTF-8: overlong encoding");
    CHECK(parse_error(with_sbert(std::string(70, '[') + std::string(70, ']')))
              .rfind("starbucks::format_error: m/sentence_bert_config.json@64: nesting deeper than 64 levels", 0) == 0);
}

TEST_CASE("st_folder: read_st_folder reads the files of a folder on disk") {
    temp_dir dir;
    dir.write("modules.json", fixture("modules_cls_normalize.json"));
    dir.write("1_Pooling/config.json", fixture("pooling_cls.json"));
    dir.write("sentence_bert_config.json", fixture("sbert_short_lower.json"));
    const auto d = io::read_st_folder(dir.path, model_config());
    CHECK(d.pooling == "cls");
    CHECK(d.normalize);
    CHECK(d.max_length == 6u);
    CHECK(d.lower_case);
    CHECK(io::read_st_json(dir.path / "modules.json").is_array());

    // Errors name the file by its path; a file over the limit is refused unread.
    dir.write("sentence_bert_config.json", "{\"x\": \"" + std::string(io::max_st_json_bytes, ' ') + "\"}");
    CHECK(error_message([&] { (void)io::read_st_folder(dir.path, model_config()); }) ==
          "starbucks::format_error: " + (dir.path / "sentence_bert_config.json").string() + ": file is 1048585 bytes; the limit is 1048576");
    CHECK_THROWS_AS((void)io::read_st_json(dir.path / "config_sentence_transformers.json"), io_error);
    fs::remove(dir.path / "1_Pooling/config.json");
    CHECK_THROWS_AS((void)io::read_st_folder(dir.path, model_config()), io_error);
}

TEST_CASE("st_folder: all-MiniLM-L6-v2 as sentence-transformers 6 saves it (pooling_mode, model_max_length)") {
    nn::bert_config c;
    c.hidden_size = 384;
    c.max_position_embeddings = 512;
    const auto d = io::read_st_folder(std::string(STARBUCKS_TEST_DATA_DIR) + "/fixtures/minilm/saved-by-st", c);
    CHECK(d.pooling == "mean");
    CHECK(d.normalize);
    CHECK(d.max_length == 256u); // tokenizer_config.json's model_max_length
    CHECK_FALSE(d.lower_case);   // sentence_bert_config.json no longer says; the tokenizer lower-cases
    c.hidden_size = 16;
    CHECK(error_message([&] { (void)io::read_st_folder(std::string(STARBUCKS_TEST_DATA_DIR) + "/fixtures/minilm/saved-by-st", c); })
              .find("1_Pooling/config.json: key \"embedding_dimension\": 384 disagrees with config.json's hidden_size 16") !=
          std::string::npos);
}

} }  // namespace test_st_folder
