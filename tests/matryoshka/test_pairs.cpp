// SPDX-License-Identifier: Apache-2.0
// matryoshka/pairs.hpp: the compile-time list, its runtime twin, parsing, defaults, dispatch.
#include "testing.hpp"

#include <starbucks/matryoshka/pairs.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_pairs {

namespace mt = starbucks::matryoshka;

namespace {
using bert_base = mt::pairs<mt::pair<2, 32>, mt::pair<4, 64>, mt::pair<6, 128>, mt::pair<8, 256>, mt::pair<10, 512>, mt::pair<12, 768>>;
static_assert(bert_base::size() == 6);
static_assert(bert_base::largest() == mt::size_pair{12, 768});
static_assert(bert_base::fits<12, 768>() && !bert_base::fits<6, 768>() && !bert_base::fits<12, 384>());

std::string thrown_message(auto&& f) {
    try {
        f();
    } catch (const starbucks::error& e) {
        return e.what();
    }
    return "(nothing thrown)";
}
} // namespace

TEST_CASE("pair_list parses a --pairs flag and prints it back") {
    const auto list = mt::pair_list::parse("2:32, 4:64,6:128");
    REQUIRE(list.size() == 3);
    CHECK(list[0] == mt::size_pair{2, 32});
    CHECK(list.largest() == mt::size_pair{6, 128});
    CHECK(list.to_flag() == "2:32,4:64,6:128");
    CHECK(list.to_string() == "(2,32) (4,64) (6,128)");
    CHECK(mt::pair_list::parse(list.to_flag()) == list);
    CHECK(mt::label(list[1]) == "n4_d64");
}

TEST_CASE("pair_list rejects malformed, empty, zero and non-increasing lists with the entry named") {
    CHECK(thrown_message([] { mt::pair_list::parse("2:32,4"); }).find("\"4\" is not a layers:dim pair") != std::string::npos);
    CHECK(thrown_message([] { mt::pair_list::parse("2:32,x:64"); }).find("\"x:64\"") != std::string::npos);
    CHECK(thrown_message([] { mt::pair_list::parse("2:32,"); }).find("\"\" is not a layers:dim pair") != std::string::npos);
    CHECK(thrown_message([] { mt::pair_list::parse("2:-32"); }).find("\"2:-32\"") != std::string::npos);
    CHECK(thrown_message([] { mt::pair_list::parse("0:32"); }).find("zero size") != std::string::npos);
    CHECK(thrown_message([] { mt::pair_list::parse("4:64,2:128"); }).find("(4,64) is followed by (2,128)") != std::string::npos);
    CHECK(thrown_message([] { mt::pair_list::parse("2:64,4:64"); }).find("(2,64) is followed by (4,64)") != std::string::npos);
    CHECK(thrown_message([] { mt::pair_list(std::vector<mt::size_pair>{}); }).find("empty") != std::string::npos);
    CHECK_NOTHROW(mt::pair_list::parse("2:32"));
}

TEST_CASE("pair_list shows a bad entry with its control bytes escaped") {
    // Found by fuzz_pairs: "#\t..." reached the message raw; a terminal sequence would too.
    const std::string m = thrown_message([] { mt::pair_list::parse(std::string("#\t\0\x1b[31m\"\\", 10)); });
    CHECK(m.find("\"#\\x09\\x00\\x1b[31m\\x22\\x5c\" is not a layers:dim pair") != std::string::npos);
    CHECK(mt::pair_list::shown(std::string(50, '7')) == std::string(40, '7') + "...");
}

TEST_CASE("check_fits names the pair larger than the model and the allowed range") {
    const auto list = mt::pair_list::parse("1:8,2:16");
    CHECK_NOTHROW(list.check_fits(2, 16));
    const std::string m = thrown_message([&] { list.check_fits(1, 16, "--pairs"); });
    CHECK(m.find("--pairs") != std::string::npos);
    CHECK(m.find("(2,16) is larger than the model; allowed: layers 1..1, dims 1..16") != std::string::npos);
    CHECK_THROWS_AS(list.check_fits(2, 15), starbucks::usage_error);
}

TEST_CASE("default_pairs gives the paper's lists and scales to small models") {
    CHECK(mt::default_pairs(12, 768).to_flag() == "2:32,4:64,6:128,8:256,10:512,12:768");
    CHECK(mt::default_pairs(12, 384).to_flag() == "2:32,4:64,6:128,8:192,10:256,12:384");
    CHECK(mt::default_pairs(6, 384).to_flag() == "1:32,2:64,3:128,4:192,5:256,6:384");
    CHECK(mt::default_pairs(12, 1024).to_flag() == "2:32,4:64,6:128,8:336,10:680,12:1024");
    CHECK(mt::default_pairs(6, 256).to_flag() == "1:32,2:64,3:96,4:128,5:192,6:256");
    CHECK(mt::default_pairs(24, 768).to_flag() == "4:32,8:64,12:128,16:256,20:512,24:768");
    CHECK(mt::default_pairs(2, 16).to_flag() == "1:12,2:16");
    CHECK(mt::default_pairs(1, 16).to_flag() == "1:16");
    CHECK(mt::default_pairs(3, 64).to_flag() == "1:32,2:48,3:64");
    CHECK(mt::default_pairs(6, 4).to_flag() == "2:1,3:2,5:3,6:4");
    for (std::size_t layers : {1u, 2u, 5u, 6u, 7u, 12u, 24u})
        for (std::size_t width : {4u, 16u, 64u, 100u, 384u, 768u, 1024u}) {
            const auto list = mt::default_pairs(layers, width); // the constructor validates the order
            CHECK(list.largest() == mt::size_pair{layers, width});
            CHECK_NOTHROW(list.check_fits(layers, width));
        }
}

TEST_CASE("with_pair dispatches a runtime size to its compile-time pair, or lists what is allowed") {
    std::size_t seen = 0;
    mt::with_pair(bert_base{}, 6, 128, [&](auto p) { seen = decltype(p)::layers * 1000 + decltype(p)::dim; });
    CHECK(seen == 6128);
    const std::size_t width = mt::with_pair(bert_base{}, 2, 32, [](auto p) { return decltype(p)::dim; });
    CHECK(width == 32);
    const std::string m = thrown_message([] { mt::with_pair(bert_base{}, 5, 96, [](auto) {}); });
    CHECK(m.find("starbucks::matryoshka::with_pair: (5, 96) is not a declared pair; allowed: (2,32) (4,64) (6,128) (8,256) (10,512) (12,768)") !=
          std::string::npos);
    CHECK(mt::pair_list::from(bert_base{}).to_flag() == "2:32,4:64,6:128,8:256,10:512,12:768");
}

} }  // namespace test_pairs
