// SPDX-License-Identifier: Apache-2.0
// The malformed-safetensors corpus (tests/malformed/): every case of RELIABILITY.md section 3 is
// rejected with the kind and message cases.tsv gives, or accepted, in both read modes.
#include "testing.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_malformed {

using namespace starbucks;

namespace {

const std::filesystem::path corpus_dir = std::filesystem::path(STARBUCKS_TEST_DATA_DIR) / "malformed" / "safetensors";

struct malformed_case {
    std::string file, expect, kind;
    std::vector<std::string> substrings;
};

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string field;
    std::istringstream in(s);
    while (std::getline(in, field, sep)) out.push_back(field);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

std::vector<malformed_case> load_cases() {
    std::ifstream in(corpus_dir / "cases.tsv");
    REQUIRE(in.good());
    std::string line;
    std::getline(in, line);
    REQUIRE(line == "file\texpect\tkind\tmessage_substrings");
    std::vector<malformed_case> cases;
    while (std::getline(in, line)) {
        const auto fields = split(line, '\t');
        REQUIRE(fields.size() == 4);
        malformed_case c{fields[0], fields[1], fields[2], {}};
        if (fields[3] != "-") c.substrings = split(fields[3], '|');
        cases.push_back(std::move(c));
    }
    return cases;
}

const char* mode_name(io::read_mode m) { return m == io::read_mode::map ? "map" : "read"; }

/// Converts every tensor through read<T, E> with the rank the file gives (the driver cannot name
/// static ranks from data, so it dispatches on them).
template <class T>
void read_with_rank(const io::safetensors_file& f, const io::tensor_info& t) {
    switch (t.dims.rank) {
    case 0: CHECK(f.read<T, extents<>>(t.name).size() == 1); break;
    case 1: CHECK(f.read<T, dextents<1>>(t.name).size() == t.size()); break;
    case 2: CHECK(f.read<T, dextents<2>>(t.name).size() == t.size()); break;
    case 3: CHECK(f.read<T, dextents<3>>(t.name).size() == t.size()); break;
    case 4: CHECK(f.read<T, dextents<4>>(t.name).size() == t.size()); break;
    case 5: CHECK(f.read<T, dextents<5>>(t.name).size() == t.size()); break;
    case 6: CHECK(f.read<T, dextents<6>>(t.name).size() == t.size()); break;
    case 7: CHECK(f.read<T, dextents<7>>(t.name).size() == t.size()); break;
    default: CHECK(f.read<T, dextents<8>>(t.name).size() == t.size()); break;
    }
}

void read_every_tensor(const io::safetensors_file& f) {
    for (const io::tensor_info& t : f.tensors()) {
        CAPTURE(t.name);
        switch (t.dtype) {
        case io::safetensors_dtype::f64: read_with_rank<double>(f, t); break;
        case io::safetensors_dtype::f32:
        case io::safetensors_dtype::f16:
        case io::safetensors_dtype::bf16: read_with_rank<float>(f, t); break;
        default: read_with_rank<std::int64_t>(f, t); break;
        }
    }
}

} // namespace

TEST_CASE("malformed corpus: cases.tsv lists every corpus file, and the corpus covers both outcomes") {
    const auto cases = load_cases();
    std::set<std::string> listed;
    std::size_t rejects = 0, accepts = 0;
    for (const auto& c : cases) {
        CHECK(listed.insert(c.file).second);
        CHECK((c.expect == "reject" || c.expect == "accept"));
        if (c.expect == "reject") {
            ++rejects;
            CHECK(!c.substrings.empty());
        } else {
            ++accepts;
            CHECK(c.kind == "-");
        }
    }
    for (const auto& entry : std::filesystem::directory_iterator(corpus_dir)) {
        const std::string name = entry.path().filename().string();
        if (name == "cases.tsv") continue;
        CAPTURE(name);
        CHECK(listed.count(name) == 1);
    }
    CHECK(rejects >= 80);
    CHECK(accepts >= 20);
}

TEST_CASE("malformed corpus: each case is rejected with its kind, location and message, or accepted, in both modes") {
    for (const auto& c : load_cases()) {
        const std::filesystem::path path = corpus_dir / c.file;
        for (io::read_mode mode : {io::read_mode::map, io::read_mode::read}) {
            CAPTURE(c.file);
            CAPTURE(mode_name(mode));
            try {
                io::safetensors_file f(path, mode);
                CHECK_MESSAGE(c.expect == "accept", "accepted a must-reject file");
                if (c.expect == "accept") read_every_tensor(f);
            } catch (const starbucks::error& e) {
                const std::string what = e.what();
                CAPTURE(what);
                CHECK_MESSAGE(c.expect == "reject", "rejected a must-accept file");
                if (c.expect != "reject") continue;
                CHECK(std::string(to_string(e.kind())) == c.kind);
                // where() is the path, optionally with @offset; what() is the one-line form.
                CHECK(e.where().rfind(path.string(), 0) == 0);
                CHECK(what.rfind("starbucks::" + c.kind + ": " + path.string(), 0) == 0);
                for (const std::string& s : c.substrings) {
                    CAPTURE(s);
                    CHECK(what.find(s) != std::string::npos);
                }
                // Names from files are printed escaped: no raw control byte reaches a terminal.
                CHECK(std::none_of(what.begin(), what.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; }));
            } catch (const std::exception& e) {
                FAIL_CHECK("not a starbucks::error: " << e.what());
            }
        }
    }
}

TEST_CASE("malformed corpus: accepted files hold the values the generator wrote") {
    const auto open = [](const char* name) { return io::safetensors_file(corpus_dir / name); };

    SUBCASE("unaligned data start: F64 and F32 at odd file offsets") {
        for (io::read_mode mode : {io::read_mode::map, io::read_mode::read}) {
            const io::safetensors_file f(corpus_dir / "unaligned_data.safetensors", mode);
            CHECK(f.data_offset() % 2 == 1);
            const auto d = f.read<double, dextents<1>>("d");
            CHECK(d(0) == 0.1);
            CHECK(d(1) == -7.0);
            const auto x = f.read<float, dextents<1>>("f");
            CHECK(x(0) == 0.25f);
            CHECK(x(1) == 8.0f);
            CHECK_THROWS_AS(((void)f.view<double, dextents<1>>("d")), unsupported_error);
        }
    }
    SUBCASE("NaN and infinities are data, not errors") {
        const auto f = open("nan_and_inf.safetensors");
        const auto a = f.read<float, dextents<1>>("f32");
        CHECK(std::isnan(a(0)));
        CHECK(a(1) == INFINITY);
        CHECK(a(2) == -INFINITY);
        CHECK(std::signbit(a(3)));
        const auto h = f.read<float, dextents<1>>("f16");
        CHECK(std::isnan(h(0)));
        CHECK(h(1) == INFINITY);
        CHECK(h(2) == -INFINITY);
        CHECK(h(3) == std::ldexp(1.0f, -24));
        const auto b = f.read<double, dextents<1>>("bf16");
        CHECK(std::isnan(b(0)));
        CHECK(b(1) == INFINITY);
        CHECK(b(2) == -INFINITY);
        const auto d = f.read<double, dextents<1>>("f64");
        CHECK(std::isnan(d(0)));
    }
    SUBCASE("every readable dtype, converted to the widest matching type") {
        const auto f = open("all_dtypes.safetensors");
        CHECK(f.tensor_count() == 10);
        CHECK(f.read<double, dextents<1>>("f64")(1) == -2.25);
        CHECK(f.read<float, dextents<1>>("f32")(0) == 0.5f);
        CHECK(f.read<float, dextents<1>>("f16")(1) == -2.0f);
        CHECK(f.read<float, dextents<1>>("bf16")(1) == -3.0f);
        CHECK(f.read<std::int64_t, dextents<1>>("i64")(0) == -(std::int64_t{1} << 40));
        CHECK(f.read<std::int64_t, dextents<1>>("i32")(1) == 2147483647);
        CHECK(f.read<std::int64_t, dextents<1>>("i16")(0) == -300);
        CHECK(f.read<std::int32_t, dextents<1>>("i8")(0) == -128);
        CHECK(f.read<std::int64_t, dextents<1>>("u8")(1) == 255);
        CHECK(f.read<std::uint8_t, dextents<1>>("bool")(1) == 1);
    }
    SUBCASE("rank 0, 0-sized dims, keys in any order, metadata anywhere") {
        CHECK(open("scalar_rank_0.safetensors").read<float, extents<>>("s")() == 3.5f);
        const auto z = open("zero_sized_between.safetensors");
        CHECK(z.read<float, extents<2, 0>>("z").size() == 0);
        CHECK(z.read<float, extents<2, 2>>("b")(1, 1) == 4.0f);
        const auto k = open("keys_in_any_order.safetensors");
        CHECK(k.names() == std::vector<std::string_view>{"b", "a"});
        CHECK(k.metadata().at("format") == "pt");
        CHECK(open("metadata_last.safetensors").metadata().at("format") == "pt");
        CHECK(open("no_metadata.safetensors").metadata().empty());
        CHECK(open("empty_object.safetensors").tensor_count() == 0);
        CHECK(open("name_with_escapes.safetensors").contains("a\x07\"b\\"));
    }
}

} }  // namespace test_malformed
