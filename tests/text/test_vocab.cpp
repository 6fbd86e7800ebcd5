// SPDX-License-Identifier: Apache-2.0
// vocab.txt and tokenizer.json: the real files load, every RELIABILITY.md error has its message.
#ifdef STARBUCKS_WITH_TEXT // the suite is empty when starbucks::text is not built

#include "text_testing.hpp"

#include <string>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_vocab {

using namespace starbucks;
using namespace starbucks::text;
using starbucks::testing::caught;
using starbucks::testing::scratch_dir;
using starbucks::testing::text_fixtures;

namespace {

// The five special tokens, then `extra`, one per line.
std::string small_vocab(const std::string& extra = "hello\nworld\n") { return "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n" + extra; }

format_error txt_error(std::string_view bytes) {
    const auto e = caught<format_error>([&] { (void)vocab::from_txt(bytes, "v.txt"); });
    REQUIRE(e.has_value());
    return *e;
}

// A minimal tokenizer.json document around `vocab`.
nlohmann::json json_doc(const nlohmann::json& vocab_object) {
    return nlohmann::json{{"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"vocab", vocab_object}}},
                          {"normalizer", {{"type", "BertNormalizer"}}}};
}

nlohmann::json small_json_vocab() {
    return nlohmann::json{{"[PAD]", 0}, {"[UNK]", 1}, {"[CLS]", 2}, {"[SEP]", 3}, {"[MASK]", 4}, {"hello", 5}};
}

template <class E>
E json_error(const nlohmann::json& doc) {
    const auto e = caught<E>([&] { (void)vocab::from_tokenizer_json(doc, "t.json"); });
    REQUIRE(e.has_value());
    return *e;
}

} // namespace

TEST_CASE("vocab: bert-base-uncased vocab.txt loads with its 30522 tokens and special ids") {
    const vocab v = vocab::load_txt(text_fixtures() / "vocab.txt");
    CHECK(v.size() == 30522);
    CHECK(v.pad_id() == 0);
    CHECK(v.unk_id() == 100);
    CHECK(v.cls_id() == 101);
    CHECK(v.sep_id() == 102);
    CHECK(v.mask_id() == 103);
    CHECK(v.token(7592) == "hello");
    CHECK(v.id("##ing") == 2075);
    CHECK(v.find("Hello") == std::nullopt);
    CHECK(v.max_token_bytes() == 18);
}

TEST_CASE("vocab: a BOM, CRLF line ends and trailing empty lines are stripped") {
    const vocab plain = vocab::from_txt(small_vocab(), "v.txt");
    const vocab dressed = vocab::from_txt("\xEF\xBB\xBF[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhello\r\nworld\r\n\r\n\n", "v.txt");
    CHECK(dressed == plain);
    CHECK(dressed.size() == 7);
    CHECK(dressed.token(0) == "[PAD]");
    // The last line needs no newline.
    CHECK(vocab::from_txt("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld", "v.txt") == plain);
}

TEST_CASE("vocab: an empty file is an error naming the file") {
    for (const std::string_view bytes : {std::string_view(""), std::string_view("\xEF\xBB\xBF")}) {
        const format_error e = txt_error(bytes);
        CHECK(std::string(e.what()) == "starbucks::format_error: v.txt: empty file; vocab.txt needs one token per line");
        CHECK(e.where() == "v.txt");
        CHECK(e.kind() == error_kind::format);
    }
    CHECK(std::string(txt_error("\n\n\r\n").what()) == "starbucks::format_error: v.txt: no tokens, only empty lines");
}

TEST_CASE("vocab: invalid UTF-8 names the line and the byte") {
    format_error e = txt_error(small_vocab("hello\nab\xFF" "c\n"));
    CHECK(std::string(e.what()) == "starbucks::format_error: v.txt:7:3: token \"ab\\xFFc\": invalid UTF-8 at byte 3");
    CHECK(e.where() == "v.txt:7:3");
    CHECK(e.object() == "token \"ab\\xFFc\"");
    // Overlong, surrogate, above U+10FFFF, cut short at the end of the line.
    CHECK(txt_error(small_vocab("\xC0\xAF\n")).where() == "v.txt:6:1");
    CHECK(txt_error(small_vocab("x\xED\xA0\x80\n")).where() == "v.txt:6:2");
    CHECK(txt_error(small_vocab("xy\xF4\x90\x80\x80\n")).where() == "v.txt:6:3");
    e = txt_error(small_vocab("ok\nend\xE2\x82\n"));
    CHECK(std::string(e.what()) == "starbucks::format_error: v.txt:7:4: token \"end\\xE2\\x82\": invalid UTF-8 at byte 4");
}

TEST_CASE("vocab: an empty line before the last token is an error (it would shift later ids)") {
    const format_error e = txt_error(small_vocab("hello\n\nworld\n"));
    CHECK(std::string(e.what()) ==
          "starbucks::format_error: v.txt:7: empty line before the token on line 8; it would shift the id of every later token");
    CHECK(e.where() == "v.txt:7");
    // A lone CR is an empty line too once CRLF is stripped.
    CHECK(txt_error(small_vocab("hello\r\n\r\nworld\r\n")).where() == "v.txt:7");
}

TEST_CASE("vocab: a duplicate token names both lines") {
    const format_error e = txt_error(small_vocab("hello\nworld\nhello\n"));
    CHECK(std::string(e.what()) ==
          "starbucks::format_error: v.txt:8: token \"hello\": duplicate of line 6; each token needs exactly one id");
    CHECK(e.where() == "v.txt:8");
    // Duplicated special tokens too.
    CHECK(txt_error(small_vocab("[UNK]\n")).rule() == "duplicate of line 2; each token needs exactly one id");
}

TEST_CASE("vocab: whitespace or control characters in a token are errors") {
    format_error e = txt_error(small_vocab("a b\n"));
    CHECK(std::string(e.what()) ==
          "starbucks::format_error: v.txt:6:2: token \"a b\": whitespace U+0020 at byte 2; a WordPiece token never holds whitespace");
    e = txt_error(small_vocab("tab\there\n"));
    CHECK(e.where() == "v.txt:6:4");
    CHECK(e.object() == "token \"tab\\x09here\"");
    CHECK(e.rule() == "whitespace U+0009 at byte 4; a WordPiece token never holds whitespace");
    e = txt_error(small_vocab("nb\xC2\xA0sp\n"));
    CHECK(e.rule() == "whitespace U+00A0 at byte 3; a WordPiece token never holds whitespace");
    e = txt_error(small_vocab("ide\xE3\x80\x80o\n"));
    CHECK(e.rule() == "whitespace U+3000 at byte 4; a WordPiece token never holds whitespace");
    e = txt_error(small_vocab("cr\rmid\n"));
    CHECK(e.rule() == "whitespace U+000D at byte 3; a WordPiece token never holds whitespace");
    e = txt_error(small_vocab("bell\x07\n"));
    CHECK(std::string(e.what()) == "starbucks::format_error: v.txt:6:5: token \"bell\\x07\": control character U+0007 at byte 5");
    e = txt_error(small_vocab(std::string("nul\0x\n", 6)));
    CHECK(e.rule() == "control character U+0000 at byte 4");
    e = txt_error(small_vocab("c1\xC2\x9B\n"));
    CHECK(e.rule() == "control character U+009B at byte 3");
}

TEST_CASE("vocab: missing special tokens are named") {
    format_error e = txt_error("[UNK]\n[CLS]\n[SEP]\nhello\n");
    CHECK(std::string(e.what()) ==
          "starbucks::format_error: v.txt: missing [PAD] [MASK]; a BERT vocab needs [UNK] [CLS] [SEP] [PAD] [MASK]");
    e = txt_error("hello\n");
    CHECK(e.rule() == "missing [UNK] [CLS] [SEP] [PAD] [MASK]; a BERT vocab needs [UNK] [CLS] [SEP] [PAD] [MASK]");
    // Special tokens are case-sensitive.
    CHECK(txt_error("[pad]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n").rule() ==
          "missing [PAD]; a BERT vocab needs [UNK] [CLS] [SEP] [PAD] [MASK]");
}

TEST_CASE("vocab: load_txt names the path, and an unreadable file is an io_error") {
    const scratch_dir dir;
    const auto p = dir.write("vocab.txt", "hello\n");
    const auto e = caught<format_error>([&] { (void)vocab::load_txt(p); });
    REQUIRE(e);
    CHECK(e->where() == p.string());
    const auto missing = caught<io_error>([&] { (void)vocab::load_txt(dir.path() / "absent.txt"); });
    REQUIRE(missing);
    CHECK(missing->where() == (dir.path() / "absent.txt").string());
    CHECK(missing->kind() == error_kind::io);
    // A file over the size limit is refused before it is read.
    const auto big = caught<format_error>([&] { (void)text::detail::read_file(p, 3); });
    REQUIRE(big);
    CHECK(big->rule() == "file is 6 bytes; the limit is 3");
}

TEST_CASE("vocab: names in messages escape control bytes") {
    const scratch_dir dir;
    const auto p = dir.write("evil\x1B[31m.txt", "");
    const auto e = caught<format_error>([&] { (void)vocab::load_txt(p); });
    REQUIRE(e);
    CHECK(std::string(e->what()).find('\x1B') == std::string::npos);
    CHECK(e->where().ends_with("evil\\x1B[31m.txt"));
    const format_error t = txt_error(small_vocab("\x1B[2J\x07\n"));
    CHECK(t.object() == "token \"\\x1B[2J\\x07\"");
}

TEST_CASE("vocab: from_tokens applies the same checks as a usage_error") {
    const vocab v = vocab::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b"});
    CHECK(v.size() == 7);
    CHECK(v.id("##b") == 6);
    auto e = caught<usage_error>([] { (void)vocab::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "a"}); });
    REQUIRE(e);
    CHECK(std::string(e->what()) == "starbucks::text::vocab::from_tokens: token 6 \"a\": duplicate of token 5");
    e = caught<usage_error>([] { (void)vocab::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ""}); });
    REQUIRE(e);
    CHECK(e->rule() == "empty token");
    e = caught<usage_error>([] { (void)vocab::from_tokens({"[PAD]", "[UNK]"}); });
    REQUIRE(e);
    CHECK(e->rule() == "missing [CLS] [SEP] [MASK]; a BERT vocab needs [UNK] [CLS] [SEP] [PAD] [MASK]");
}

TEST_CASE("vocab: token and id lookups out of range are usage errors") {
    const vocab v = vocab::from_txt(small_vocab(), "v.txt");
    auto e = caught<usage_error>([&] { (void)v.token(7); });
    REQUIRE(e);
    CHECK(std::string(e->what()) == "starbucks::text::vocab::token: id 7 is outside [0, 7)");
    CHECK(caught<usage_error>([&] { (void)v.token(-1); }).has_value());
    e = caught<usage_error>([&] { (void)v.id("absent"); });
    REQUIRE(e);
    CHECK(std::string(e->what()) == "starbucks::text::vocab::id: token \"absent\" is not in the vocab");
}

TEST_CASE("vocab: tokenizer.json's model.vocab equals vocab.txt for all-MiniLM-L6-v2") {
    const vocab from_json = vocab::load_tokenizer_json(text_fixtures() / "tokenizer.json");
    const vocab from_txt = vocab::load_txt(text_fixtures() / "vocab.txt");
    CHECK(from_json.size() == 30522);
    CHECK(from_json == from_txt);
    CHECK_NOTHROW(check_same_vocab(from_txt, "vocab.txt", from_json, "tokenizer.json"));
}

TEST_CASE("vocab: tokenizer.json must be WordPiece with the BERT normalizer") {
    nlohmann::json doc = json_doc(small_json_vocab());
    CHECK(vocab::from_tokenizer_json(doc, "t.json").size() == 6);

    doc["model"]["type"] = "BPE";
    auto u = json_error<unsupported_error>(doc);
    CHECK(std::string(u.what()) == "starbucks::unsupported_error: t.json: model.type: \"BPE\"; starbucks supports only WordPiece");
    CHECK(u.kind() == error_kind::unsupported);

    doc = json_doc(small_json_vocab());
    doc["normalizer"] = {{"type", "Sequence"}, {"normalizers", nlohmann::json::array()}};
    u = json_error<unsupported_error>(doc);
    CHECK(std::string(u.what()) ==
          "starbucks::unsupported_error: t.json: normalizer.type: \"Sequence\"; starbucks supports only BertNormalizer");

    doc["normalizer"] = nullptr;
    u = json_error<unsupported_error>(doc);
    CHECK(std::string(u.what()) ==
          "starbucks::unsupported_error: t.json: normalizer: is missing; starbucks supports only a WordPiece model with the BERT normalizer");

    doc = json_doc(small_json_vocab());
    doc["model"].erase("type");
    CHECK(std::string(json_error<format_error>(doc).what()) == "starbucks::format_error: t.json: model.type: must be a string");
    CHECK(std::string(json_error<format_error>(nlohmann::json::array()).what()) ==
          "starbucks::format_error: t.json: top level must be a JSON object");
}

TEST_CASE("vocab: tokenizer.json ids must run 0..N-1 exactly once") {
    nlohmann::json v = small_json_vocab();
    v["world"] = 5;
    auto e = json_error<format_error>(json_doc(v));
    CHECK(std::string(e.what()) == "starbucks::format_error: t.json: model.vocab id 5: held by both \"hello\" and \"world\"");

    v = small_json_vocab();
    v["hello"] = 6; // leaves id 5 empty, so 6 is out of range for 6 tokens
    e = json_error<format_error>(json_doc(v));
    CHECK(std::string(e.what()) == "starbucks::format_error: t.json: model.vocab \"hello\": id 6 is not an integer in [0, 6)");
    v["hello"] = -1;
    CHECK(json_error<format_error>(json_doc(v)).rule() == "id -1 is not an integer in [0, 6)");
    v["hello"] = 5.5;
    CHECK(json_error<format_error>(json_doc(v)).rule() == "id 5.5 is not an integer in [0, 6)");
    v["hello"] = "5";
    CHECK(json_error<format_error>(json_doc(v)).rule() == "id \"5\" is not an integer in [0, 6)");

    v = small_json_vocab();
    v["a b"] = 6;
    e = json_error<format_error>(json_doc(v));
    CHECK(std::string(e.what()) ==
          "starbucks::format_error: t.json: model.vocab \"a b\": whitespace U+0020 at byte 2; a WordPiece token never holds whitespace");

    v = small_json_vocab();
    v.erase("[MASK]");
    v["hello"] = 4;
    CHECK(json_error<format_error>(json_doc(v)).rule() == "missing [MASK]; a BERT vocab needs [UNK] [CLS] [SEP] [PAD] [MASK]");

    CHECK(std::string(json_error<format_error>(json_doc(nlohmann::json::array())).what()) ==
          "starbucks::format_error: t.json: model.vocab: must be an object mapping each token to its id");
    CHECK(std::string(json_error<format_error>(json_doc(nlohmann::json::object())).what()) ==
          "starbucks::format_error: t.json: model.vocab: is empty");
}

TEST_CASE("vocab: tokenizer.json is parsed strictly (syntax, duplicate keys, depth)") {
    const scratch_dir dir;
    const auto load = [&](const std::string& bytes) {
        const auto p = dir.write("tokenizer.json", bytes);
        return caught<format_error>([&] { (void)vocab::load_tokenizer_json(p); });
    };
    const std::string name = (dir.path() / "tokenizer.json").string();

    auto e = load(R"({"model": {"type": "WordPiece",})");
    REQUIRE(e);
    CHECK(e->where() == name + "@32");
    CHECK(e->rule().starts_with("not valid JSON: parse error at line 1, column 32: syntax error while parsing object key"));

    e = load(R"({"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[PAD]": 1}}, "normalizer": {"type": "BertNormalizer"}})");
    REQUIRE(e);
    CHECK(std::string(e->what()) == "starbucks::format_error: " + name + ": key \"[PAD]\": appears twice in one object");

    e = load(std::string(65, '[') + std::string(65, ']'));
    REQUIRE(e);
    CHECK(e->rule() == "JSON nests deeper than 64 levels");
    CHECK(load(std::string(64, '[') + std::string(64, ']')).value().rule() == "top level must be a JSON object"); // 64 levels parse

    e = load(R"({"a": 1} x)");
    REQUIRE(e);
    CHECK(e->where() == name + "@10");
    e = load("{\"a\": \"\xFF\"}");
    REQUIRE(e);
    CHECK(e->rule().find("invalid string: ill-formed UTF-8 byte") != std::string::npos);
    e = load("{\"a\": NaN}");
    REQUIRE(e);
    CHECK(e->where() == name + "@7");
    // Found by fuzz_vocab: a number beyond double's range escaped as nlohmann's out_of_range.
    e = load(R"({"a": 1e400})");
    REQUIRE(e);
    CHECK(e->rule() == "not valid JSON here: a number overflows a double");
}

TEST_CASE("vocab: vocab.txt and tokenizer.json must agree") {
    const vocab txt = vocab::from_txt(small_vocab("hello\nworld\n"), "vocab.txt");
    nlohmann::json v = small_json_vocab();
    v["world"] = 6;
    CHECK_NOTHROW(check_same_vocab(txt, "vocab.txt", vocab::from_tokenizer_json(json_doc(v), "t.json"), "t.json"));

    v["hello"] = 6;
    v["world"] = 5;
    auto e = caught<format_error>(
        [&] { check_same_vocab(txt, "vocab.txt", vocab::from_tokenizer_json(json_doc(v), "t.json"), "t.json"); });
    REQUIRE(e);
    CHECK(std::string(e->what()) ==
          "starbucks::format_error: t.json: model.vocab id 5: \"world\" disagrees with \"hello\" on vocab.txt:6");

    e = caught<format_error>(
        [&] { check_same_vocab(txt, "vocab.txt", vocab::from_tokenizer_json(json_doc(small_json_vocab()), "t.json"), "t.json"); });
    REQUIRE(e);
    CHECK(std::string(e->what()) == "starbucks::format_error: t.json: model.vocab: holds 6 tokens but vocab.txt holds 7");
}

#endif // STARBUCKS_WITH_TEXT

} }  // namespace test_vocab
