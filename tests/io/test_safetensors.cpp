// SPDX-License-Identifier: Apache-2.0
// safetensors: writer/reader round trips, the header our writer produces, zero-copy views, dtype
// conversions (F16 from its IEEE definition), model errors, atomic writes under failure, sharded
// checkpoints, and a real file written by the Python implementation.
#include "testing.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_safetensors {

using namespace starbucks;
namespace fs = std::filesystem;

namespace {

using testing::temp_dir;

std::vector<std::byte> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(std::uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    return s;
}

/// A safetensors file from a header text and data bytes (no padding added).
std::string st_bytes(const std::string& header, const std::string& data) { return u64_le(header.size()) + header + data; }

template <class T>
std::string bytes_of(std::initializer_list<T> values) {
    std::string s(values.size() * sizeof(T), '\0');
    std::size_t i = 0;
    for (T v : values) std::memcpy(s.data() + sizeof(T) * i++, &v, sizeof(T));
    return s;
}

/// The elements of a contiguous tensor as bytes.
template <class X>
std::span<const std::byte> tensor_bytes(const X& x) {
    const auto v = as_const_view(x);
    return std::as_bytes(std::span(v.data(), v.size()));
}

std::span<const std::byte> as_span(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

template <class X>
bool same_bytes(std::span<const std::byte> a, const X& x) {
    const auto v = as_const_view(x);
    return a.size() == v.size() * sizeof(value_type_t<X>) && (a.empty() || std::memcmp(a.data(), v.data(), a.size()) == 0);
}

const std::array<io::read_mode, 2> both_modes{io::read_mode::map, io::read_mode::read};

} // namespace

// ---- round trips ----

TEST_CASE("safetensors: F32/F64/BF16/I64 round trips are bit-identical, with rank 0, 0-sized and odd shapes") {
    temp_dir dir;
    auto f32 = testing::random<float>(extents<3, 5, 7>{}, 1);
    f32(0, 0, 0) = std::bit_cast<float>(0x7fc01234u); // a NaN with a payload survives as bits
    f32(0, 0, 1) = -0.0f;
    f32(0, 0, 2) = std::numeric_limits<float>::denorm_min();
    f32(0, 0, 3) = -INFINITY;
    auto f64 = testing::random<double>(extents<dyn, 3>(2), 2);
    f64(1, 2) = std::bit_cast<double>(0x7ff8000000000abcull);
    tensor<bf16, extents<dyn>> b16(11);
    for (std::size_t i = 0; i < b16.size(); ++i) b16(i) = bf16::from_bits(static_cast<std::uint16_t>(0x3f80 + 977 * i));
    tensor<std::int64_t, extents<2, 1, 3>> i64;
    const std::int64_t ints[] = {0, -1, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), 42, -7};
    for (std::size_t i = 0; i < 6; ++i) i64.data()[i] = ints[i];
    tensor<float, extents<>> scalar;
    scalar() = 2.5f;
    tensor<double, extents<dyn, 4>> empty(0);
    tensor<std::int64_t, extents<1>> one;
    one(0) = 123;

    io::save_safetensors(dir / "m.safetensors", {io::make_entry("f32", f32), io::make_entry("f64", f64),
                                                 io::make_entry("bf16", b16), io::make_entry("i64", i64),
                                                 io::make_entry("scalar", scalar), io::make_entry("empty", empty),
                                                 io::make_entry("one", one)});
    for (io::read_mode mode : both_modes) {
        CAPTURE(mode == io::read_mode::map);
        const io::safetensors_file f(dir / "m.safetensors", mode);
        CHECK(f.names() == std::vector<std::string_view>{"f32", "f64", "bf16", "i64", "scalar", "empty", "one"});
        CHECK(same_bytes(f.raw_bytes("f32"), f32));
        CHECK(same_bytes(tensor_bytes(f.read<float, extents<3, 5, 7>>("f32")), f32));
        CHECK(same_bytes(tensor_bytes(f.read<float, dextents<3>>("f32")), f32));
        CHECK(same_bytes(tensor_bytes(f.read<double, extents<dyn, 3>>("f64")), f64));
        CHECK(same_bytes(tensor_bytes(f.read<bf16, extents<dyn>>("bf16")), b16));
        CHECK(same_bytes(tensor_bytes(f.read<std::int64_t, extents<2, 1, 3>>("i64")), i64));
        CHECK(f.read<float, extents<>>("scalar")() == 2.5f);
        CHECK(f.info("scalar").dims.rank == 0);
        const auto e = f.read<double, extents<dyn, 4>>("empty");
        CHECK(e.size() == 0);
        CHECK(e.extent(0) == 0);
        CHECK(f.info("empty").begin == f.info("empty").end);
        CHECK(f.read<std::int64_t, extents<1>>("one")(0) == 123);
        CHECK(f.info("bf16").dtype == io::safetensors_dtype::bf16);
        CHECK(f.info("f64").dtype == io::safetensors_dtype::f64);
        CHECK(f.info("i64").dtype == io::safetensors_dtype::i64);
    }
}

TEST_CASE("safetensors: strided views and moved-in temporaries are written as their elements") {
    temp_dir dir;
    auto x = testing::random<float>(extents<4, 6>{}, 3);
    const auto cols = prefix<2>(x.view()); // (4, 2), strided
    io::save_safetensors(dir / "v.safetensors",
                         {io::make_entry("prefix", cols), io::make_entry("temp", testing::random<double>(extents<3>{}, 4))});
    const io::safetensors_file f(dir / "v.safetensors");
    const auto p = f.read<float, extents<4, 2>>("prefix");
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 2; ++j) CHECK(p(i, j) == x(i, j));
    CHECK(same_bytes(f.raw_bytes("temp"), testing::random<double>(extents<3>{}, 4)));
}

// ---- the header our writer produces ----

TEST_CASE("safetensors: the written header starts with '{', is space-padded to a multiple of 8 and says format pt") {
    temp_dir dir;
    tensor<float, extents<3>> a;
    tensor<bf16, extents<1>> b; // 2 bytes: the next tensor starts unaligned, yet without a hole
    tensor<std::int64_t, extents<2>> c;
    io::save_safetensors(dir / "h.safetensors", {io::make_entry("a", a), io::make_entry("b", b), io::make_entry("c", c)});
    const auto bytes = read_file(dir / "h.safetensors");
    REQUIRE(bytes.size() >= 8);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | std::to_integer<std::uint64_t>(bytes[static_cast<std::size_t>(i)]);
    CHECK(n % 8 == 0);
    CHECK(bytes.size() == 8 + n + 12 + 2 + 16);
    const std::string header(reinterpret_cast<const char*>(bytes.data()) + 8, n);
    CHECK(header.front() == '{');
    const auto last = header.find_last_not_of(' ');
    CHECK(header[last] == '}');
    CHECK(header.size() - last - 1 < 8);
    const auto j = nlohmann::ordered_json::parse(header);
    CHECK(j.begin().key() == "__metadata__");
    CHECK(j["__metadata__"]["format"] == "pt");
    CHECK(j["a"]["data_offsets"] == nlohmann::ordered_json::array({0, 12}));
    CHECK(j["b"]["data_offsets"] == nlohmann::ordered_json::array({12, 14}));
    CHECK(j["c"]["data_offsets"] == nlohmann::ordered_json::array({14, 30}));
    CHECK(j["c"]["dtype"] == "I64");
    CHECK(j["b"]["shape"] == nlohmann::ordered_json::array({1}));

    io::save_safetensors(dir / "m.safetensors", {io::make_entry("a", a)}, {{"note", "x"}});
    const io::safetensors_file m(dir / "m.safetensors");
    CHECK(m.metadata() == std::map<std::string, std::string>{{"format", "pt"}, {"note", "x"}});
    io::save_safetensors(dir / "np.safetensors", {}, {{"format", "np"}});
    CHECK(io::safetensors_file(dir / "np.safetensors").metadata().at("format") == "np");
}

TEST_CASE("safetensors: bad entries are refused before the destination is touched") {
    temp_dir dir;
    write_bytes(dir / "keep.safetensors", "old");
    tensor<float, extents<2>> a;
    const auto path = dir / "keep.safetensors";
    CHECK(testing::error_message([&] { io::save_safetensors(path, {io::make_entry("a", a), io::make_entry("a", a)}); })
              .find("tensor \"a\": given twice") != std::string::npos);
    CHECK_THROWS_AS(io::save_safetensors(path, {io::make_entry("", a)}), usage_error);
    CHECK_THROWS_AS(io::save_safetensors(path, {io::make_entry("__metadata__", a)}), usage_error);
    CHECK_THROWS_AS(io::save_safetensors(path, {io::make_entry("bad\xff", a)}), usage_error);
    io::tensor_entry wrong = io::make_entry("w", a);
    wrong.dims = shape{3};
    CHECK(testing::error_message([&] { io::save_safetensors(path, {wrong}); }).find("F32 [3] needs 12 bytes, the entry has 8") !=
          std::string::npos);
    CHECK(dir.files() == std::vector<std::string>{"keep.safetensors"});
    const auto kept = read_file(path);
    CHECK(std::string(reinterpret_cast<const char*>(kept.data()), kept.size()) == "old");
}

// ---- views ----

TEST_CASE("safetensors: view() points into the file's bytes without copying") {
    temp_dir dir;
    const auto w = testing::random<float>(extents<8, 16>{}, 5);
    io::save_safetensors(dir / "w.safetensors", {io::make_entry("w", w)});
    for (io::read_mode mode : both_modes) {
        const io::safetensors_file f(dir / "w.safetensors", mode);
        CHECK(f.is_mapped() == (mode == io::read_mode::map));
        const auto v = f.view<float, extents<dyn, 16>>("w");
        const auto raw = f.raw_bytes("w");
        CHECK(static_cast<const void*>(v.data()) == static_cast<const void*>(raw.data()));
        // The data section is one range of the mapping (or of the buffer read); the view lies inside it.
        const auto all = f.data();
        CHECK(reinterpret_cast<const std::byte*>(v.data()) >= all.data());
        CHECK(reinterpret_cast<const std::byte*>(v.data() + v.size()) <= all.data() + all.size());
        CHECK(v(7, 15) == w(7, 15));
        CHECK(testing::max_abs_diff(v, w) == 0.0);
    }
}

TEST_CASE("safetensors: view() refuses conversions and unaligned data and points to read()") {
    // Padding puts the data at 2 mod 4: unaligned for F32, aligned for BF16.
    std::string header = R"({"f":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}})";
    while ((8 + header.size()) % 4 != 2) header += ' '; // F32 misaligned, BF16 at +8 still 2-aligned
    const std::string file = st_bytes(header, bytes_of<float>({1.5f, -2.0f}) + bytes_of<std::uint16_t>({0x3fc0}));
    const auto f = io::safetensors_file::from_memory(as_span(file), "odd.safetensors");
    CHECK(f.data_offset() % 4 == 2);
    const std::string unaligned = testing::error_message([&] { (void)f.view<float, extents<2>>("f"); });
    CHECK(unaligned.rfind("starbucks::unsupported_error: odd.safetensors@", 0) == 0);
    CHECK(unaligned.find("not aligned to 4 bytes") != std::string::npos);
    CHECK(unaligned.find("use read()") != std::string::npos);
    const std::string convert = testing::error_message([&] { (void)f.view<float, extents<1>>("h"); });
    CHECK(convert.find("is BF16; a view of F32 would need a conversion; use read()") != std::string::npos);
    CHECK_THROWS_AS(((void)f.view<double, extents<2>>("f")), unsupported_error);
    CHECK(f.view<bf16, extents<1>>("h")(0) == bf16::from_bits(0x3fc0)); // exact and 2-aligned: a view
    CHECK(f.read<float, extents<1>>("h")(0) == 1.5f);
}

TEST_CASE("safetensors: unaligned data is read correctly, mapped and read") {
    temp_dir dir;
    std::string header = R"({"d":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"i":{"dtype":"I64","shape":[1],"data_offsets":[24,32]}})";
    while ((8 + header.size()) % 8 != 3) header += ' ';
    write_bytes(dir / "u.safetensors", st_bytes(header, bytes_of<double>({0.1, -1e300, 3.0}) + bytes_of<std::int64_t>({-5})));
    for (io::read_mode mode : both_modes) {
        const io::safetensors_file f(dir / "u.safetensors", mode);
        CHECK(reinterpret_cast<std::uintptr_t>(f.raw_bytes("d").data()) % 8 == 3);
        const auto d = f.read<double, extents<3>>("d");
        CHECK(d(0) == 0.1);
        CHECK(d(1) == -1e300);
        CHECK(d(2) == 3.0);
        CHECK(f.read<std::int64_t, extents<1>>("i")(0) == -5);
    }
}

// ---- conversions ----

TEST_CASE("safetensors: F16 converts exactly for every bit pattern (normals, subnormals, infinities, NaN)") {
    std::size_t wrong = 0;
    std::uint32_t first_wrong = 0;
    for (std::uint32_t h = 0; h <= 0xffff; ++h) {
        const float got = io::detail::f16_to_float(static_cast<std::uint16_t>(h));
        const bool negative = (h & 0x8000) != 0;
        const int exponent = static_cast<int>((h >> 10) & 0x1f);
        const int fraction = static_cast<int>(h & 0x3ff);
        bool ok = std::signbit(got) == negative;
        if (exponent == 31) {
            ok = ok && (fraction == 0 ? std::isinf(got) : std::isnan(got));
        } else {
            // (-1)^s * 2^(e-15) * (1 + f/1024) for normals, 2^-14 * (f/1024) for subnormals.
            const double magnitude = exponent == 0 ? std::ldexp(static_cast<double>(fraction), -24)
                                                   : std::ldexp(1.0 + fraction / 1024.0, exponent - 15);
            ok = ok && static_cast<double>(got) == (negative ? -magnitude : magnitude);
        }
        if (!ok && wrong++ == 0) first_wrong = h;
    }
    CAPTURE(first_wrong);
    CHECK(wrong == 0);
    CHECK(io::detail::f16_to_float(0x0001) == std::ldexp(1.0f, -24));      // smallest subnormal
    CHECK(io::detail::f16_to_float(0x03ff) == 1023 * std::ldexp(1.0f, -24)); // largest subnormal
    CHECK(io::detail::f16_to_float(0x0400) == std::ldexp(1.0f, -14));      // smallest normal
    CHECK(io::detail::f16_to_float(0x7bff) == 65504.0f);
    CHECK(io::detail::f16_to_float(0xfc00) == -INFINITY);
}

TEST_CASE("safetensors: reading converts only without loss, and BOOL bytes must be 0 or 1") {
    const std::string header = R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},)"
                               R"("b":{"dtype":"BOOL","shape":[3],"data_offsets":[6,9]},)"
                               R"("i":{"dtype":"I16","shape":[2],"data_offsets":[9,13]},)"
                               R"("f":{"dtype":"F32","shape":[1],"data_offsets":[13,17]},)"
                               R"("q":{"dtype":"I64","shape":[1],"data_offsets":[17,25]}})";
    const std::string file = st_bytes(header, bytes_of<std::uint16_t>({0x3c00, 0x0200, 0xfbff}) + std::string("\x01\x00\x02", 3) +
                                                  bytes_of<std::int16_t>({-2, 7}) + bytes_of<float>({0.1f}) +
                                                  bytes_of<std::int64_t>({9}));
    const auto f = io::safetensors_file::from_memory(as_span(file), "conv.safetensors");
    const auto h = f.read<double, extents<3>>("h");
    CHECK(h(0) == 1.0);
    CHECK(h(1) == std::ldexp(1.0, -15)); // a subnormal F16
    CHECK(h(2) == -65504.0);
    CHECK(f.read<std::int64_t, extents<2>>("i")(0) == -2);
    CHECK(f.read<double, extents<1>>("f")(0) == static_cast<double>(0.1f));
    const std::string bad_bool = testing::error_message([&] { (void)f.read<std::uint8_t, extents<3>>("b"); });
    CHECK(bad_bool.rfind("starbucks::format_error: conv.safetensors@", 0) == 0);
    CHECK(bad_bool.find("BOOL element 2 is 2, not 0 or 1") != std::string::npos);
    const std::string lossy = testing::error_message([&] { (void)f.read<float, extents<1>>("q"); });
    CHECK(lossy.rfind("starbucks::model_error: conv.safetensors: tensor \"q\": is I64, which does not convert to F32", 0) == 0);
    CHECK_THROWS_AS(((void)f.read<bf16, extents<1>>("f")), model_error);
    CHECK_THROWS_AS(((void)f.read<std::int32_t, extents<1>>("q")), model_error);
}

// ---- model errors ----

TEST_CASE("safetensors: a wrong shape or a missing tensor is a model_error naming the tensor and both shapes") {
    temp_dir dir;
    tensor<float, extents<768, 768>> w;
    io::save_safetensors(dir / "p.safetensors", {io::make_entry("pooler.dense.weight", w)});
    const io::safetensors_file f(dir / "p.safetensors");
    const std::string path = (dir / "p.safetensors").string();

    const std::string wrong = testing::error_message([&] { (void)f.read<float, extents<384, 384>>("pooler.dense.weight"); });
    CHECK(wrong == "starbucks::model_error: " + path + ": tensor \"pooler.dense.weight\": has (768, 768), expected (384, 384)");
    CHECK_THROWS_AS(((void)f.read<float, extents<384, 384>>("pooler.dense.weight")), model_error);
    CHECK(testing::error_message([&] { (void)f.read<float, dextents<2>>("pooler.dense.weight", dextents<2>(768, 384)); })
              .find("has (768, 768), expected (768, 384)") != std::string::npos);
    CHECK(testing::error_message([&] { (void)f.view<float, extents<dyn, dyn, 768>>("pooler.dense.weight"); })
              .find("has (768, 768), expected (?, ?, 768)") != std::string::npos);
    CHECK(f.read<float, extents<dyn, 768>>("pooler.dense.weight").extent(0) == 768);

    const std::string missing = testing::error_message([&] { (void)f.read<float, dextents<1>>("pooler.dense.bias"); });
    CHECK(missing.rfind("starbucks::model_error: " + path + ": tensor \"pooler.dense.bias\": missing", 0) == 0);
    CHECK_THROWS_AS(((void)f.info("nope")), model_error);
    CHECK(f.find("nope") == nullptr);
    // A name printed in an error cannot carry terminal escapes.
    const std::string escaped = testing::error_message([&] { (void)f.info("x\x1b[31m"); });
    CHECK(escaped.find("tensor \"x\\x1b[31m\"") != std::string::npos);
    CHECK(escaped.find('\x1b') == std::string::npos);
}

// ---- limits and OS errors ----

TEST_CASE("safetensors: a header length over 10^8 is refused from the length field alone") {
    temp_dir dir;
    const auto path = dir / "huge.safetensors";
    write_bytes(path, u64_le(100'000'008) + "{}");
    fs::resize_file(path, 100'000'100); // sparse: N fits the file, only the cap refuses it
    for (io::read_mode mode : both_modes) {
        const std::string msg = testing::error_message([&] { io::safetensors_file f(path, mode); });
        CHECK(msg == "starbucks::format_error: " + path.string() +
                         "@0: header length 100000008 exceeds the limit of 100000000 bytes (file has 100000100 bytes)");
    }
}

TEST_CASE("safetensors: files that cannot be opened are io_errors naming the path") {
    temp_dir dir;
    const std::string missing = testing::error_message([&] { io::safetensors_file f(dir / "none.safetensors"); });
    CHECK(missing.rfind("starbucks::io_error: " + (dir / "none.safetensors").string() + ": cannot open for reading: ", 0) == 0);
    CHECK(missing.find("No such file or directory") != std::string::npos);
    CHECK(testing::error_message([&] { io::safetensors_file f(dir.path); }).find("not a regular file") != std::string::npos);
}

// ---- atomic writes ----

namespace {

/// Lowers RLIMIT_FSIZE for the scope, with SIGXFSZ ignored so an oversized write fails with EFBIG
/// instead of killing the process. Root is subject to it too, unlike to file permissions.
struct file_size_limit {
    rlimit old{};
    void (*old_handler)(int) = nullptr;
    explicit file_size_limit(rlim_t bytes) {
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
        old_handler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit lower = old;
        lower.rlim_cur = bytes;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &lower) == 0);
    }
    ~file_size_limit() {
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);
    }
};

std::string contents(const fs::path& p) {
    const auto b = read_file(p);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

} // namespace

TEST_CASE("atomic_file: a write that fails midway leaves the old file intact and no temporary file") {
    temp_dir dir;
    const auto path = dir / "model.safetensors";
    tensor<float, extents<16>> small;
    io::save_safetensors(path, {io::make_entry("w", small)});
    const std::string old = contents(path);

    tensor<float, extents<64, 1024>> big; // 256 KiB, over the limit below
    std::string msg;
    {
        file_size_limit limit(64 * 1024);
        msg = testing::error_message([&] { io::save_safetensors(path, {io::make_entry("w", big)}); });
    }
    CHECK(msg.rfind("starbucks::io_error: " + path.string() + ": cannot write .model.safetensors.tmp-", 0) == 0);
    CHECK(msg.find("File too large") != std::string::npos);
    CHECK(contents(path) == old);
    CHECK(dir.files() == std::vector<std::string>{"model.safetensors"});
    CHECK(io::safetensors_file(path).read<float, extents<16>>("w")(0) == 0.0f);
}

TEST_CASE("atomic_file: failures to create or rename leave the destination as it was") {
    temp_dir dir;
    tensor<float, extents<4>> x;

    SUBCASE("the parent directory does not exist") {
        const auto path = dir / "no-such-dir" / "m.safetensors";
        const std::string msg = testing::error_message([&] { io::save_safetensors(path, {io::make_entry("x", x)}); });
        CHECK(msg.rfind("starbucks::io_error: " + path.string() + ": cannot create a temporary file in ", 0) == 0);
        CHECK(msg.find("No such file or directory") != std::string::npos);
        CHECK(dir.files().empty());
    }
    SUBCASE("the destination is a directory: the rename fails after the data was written") {
        fs::create_directory(dir / "m.safetensors");
        write_bytes(dir / "m.safetensors" / "inside", "keep");
        const std::string msg = testing::error_message([&] { io::save_safetensors(dir / "m.safetensors", {io::make_entry("x", x)}); });
        CHECK(msg.find("starbucks::io_error: " + (dir / "m.safetensors").string() + ": cannot rename") == 0);
        CHECK(fs::is_directory(dir / "m.safetensors"));
        CHECK(contents(dir / "m.safetensors" / "inside") == "keep");
        CHECK(dir.files() == std::vector<std::string>{"m.safetensors"});
    }
    SUBCASE("a read-only directory (skipped as root, which ignores permissions)") {
        write_bytes(dir / "m.safetensors", "old");
        fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
        if (::geteuid() != 0) {
            const std::string msg = testing::error_message([&] { io::save_safetensors(dir / "m.safetensors", {io::make_entry("x", x)}); });
            CHECK(msg.find("Permission denied") != std::string::npos);
            CHECK(contents(dir / "m.safetensors") == "old");
        }
        fs::permissions(dir.path, fs::perms::owner_all);
        CHECK(dir.files() == std::vector<std::string>{"m.safetensors"});
    }
}

TEST_CASE("atomic_file: an uncommitted file is discarded, a committed one replaces the destination") {
    temp_dir dir;
    write_bytes(dir / "out.txt", "old");
    {
        io::atomic_file f(dir / "out.txt");
        CHECK(fs::exists(f.temp_path()));
        CHECK(f.temp_path().parent_path() == dir.path);
        f.write(std::string_view("partial"));
    } // destroyed without commit()
    CHECK(contents(dir / "out.txt") == "old");
    CHECK(dir.files() == std::vector<std::string>{"out.txt"});

    io::atomic_file g(dir / "out.txt");
    g.write(std::string_view("new"));
    g.commit();
    CHECK(g.temp_path().empty());
    CHECK(contents(dir / "out.txt") == "new");
    CHECK(dir.files() == std::vector<std::string>{"out.txt"});
    CHECK_THROWS_AS(g.write(std::string_view("more")), io_error);
}

TEST_CASE("atomic_file: a symbolic link at the destination is replaced, never written through into another folder") {
    temp_dir out, elsewhere;
    write_bytes(elsewhere / "precious.safetensors", "keep");
    fs::create_symlink(elsewhere / "precious.safetensors", out / "model.safetensors");
    tensor<float, extents<4>> x;
    io::save_safetensors(out / "model.safetensors", {io::make_entry("x", x)});
    CHECK(contents(elsewhere / "precious.safetensors") == "keep");
    CHECK(!fs::is_symlink(out / "model.safetensors"));
    CHECK(io::safetensors_file(out / "model.safetensors").names().size() == 1);
}

// ---- sharded checkpoints ----

namespace {

struct sharded_fixture {
    temp_dir dir;
    tensor<float, extents<2, 3>> a = testing::random<float>(extents<2, 3>{}, 7);
    tensor<float, extents<4>> b = testing::random<float>(extents<4>{}, 8);
    tensor<std::int64_t, extents<2>> c;

    sharded_fixture() {
        c(1) = 5;
        io::save_safetensors(dir / "model-00001-of-00002.safetensors", {io::make_entry("a", a), io::make_entry("b", b)});
        io::save_safetensors(dir / "model-00002-of-00002.safetensors", {io::make_entry("c", c)});
    }
    fs::path index(const std::string& weight_map, const std::string& extra = "") const {
        write_bytes(dir / "model.safetensors.index.json",
                    "{\n  \"metadata\": {\"total_size\": 56}" + extra + ",\n  \"weight_map\": " + weight_map + "\n}\n");
        return dir / "model.safetensors.index.json";
    }
    static constexpr const char* good_map =
        R"({"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"})";
};

} // namespace

TEST_CASE("sharded_safetensors: an index and its shards read as one set of tensors") {
    sharded_fixture fx;
    for (io::read_mode mode : both_modes) {
        const io::sharded_safetensors s(fx.index(sharded_fixture::good_map), mode);
        CHECK(s.shards().size() == 2);
        CHECK(s.names() == std::vector<std::string_view>{"a", "b", "c"});
        CHECK(s.metadata()["total_size"] == 56);
        CHECK(testing::max_abs_diff(s.read<float, extents<2, 3>>("a"), fx.a) == 0.0);
        CHECK(s.read<std::int64_t, dextents<1>>("c")(1) == 5);
        CHECK(s.view<float, extents<4>>("b")(3) == fx.b(3));
        CHECK(s.shard_of("c").path().filename() == "model-00002-of-00002.safetensors");
        CHECK(s.info("b").dims == shape{4});
        CHECK(testing::error_message([&] { (void)s.info("d"); }).find("tensor \"d\": missing") != std::string::npos);
    }
}

TEST_CASE("sharded_safetensors: index errors name the index, the tensor and the shard") {
    sharded_fixture fx;
    const auto message = [&](const std::string& weight_map, const std::string& extra = "") {
        return testing::error_message([&] { io::sharded_safetensors s(fx.index(weight_map, extra)); });
    };
    const std::string index = (fx.dir / "model.safetensors.index.json").string();

    CHECK(message(R"({"a": "../model-00001-of-00002.safetensors"})").find("is not a plain file name") != std::string::npos);
    CHECK(message(R"({"a": "sub/model.safetensors"})").find("tensor \"a\": shard \"sub/model.safetensors\" is not a plain file name") !=
          std::string::npos);
    CHECK(message(R"({"a": ".."})").find("is not a plain file name") != std::string::npos);
    CHECK(message(R"({"a": "/etc/passwd"})").find("is not a plain file name") != std::string::npos);
    const std::string wrong_shard = message(
        R"({"a": "model-00002-of-00002.safetensors", "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"})");
    CHECK(wrong_shard.find("tensor \"a\": weight_map puts it in \"model-00002-of-00002.safetensors\", which has no such tensor") !=
          std::string::npos);
    const std::string unlisted = message(R"({"a": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"})");
    CHECK(unlisted.find("tensor \"b\": is not listed in the weight_map") != std::string::npos);
    CHECK(message(R"({"a": "model-00001-of-00002.safetensors", "a": "model-00002-of-00002.safetensors"})").find("duplicate key") !=
          std::string::npos);
    CHECK(message(R"(["a"])").find("key \"weight_map\": is an array, not an object") != std::string::npos);
    CHECK(message(R"({"a": 3})").find("tensor \"a\": weight_map value is a number, not a file name") != std::string::npos);
    CHECK(message(R"({"a": "missing.safetensors"})").rfind("starbucks::io_error: " + (fx.dir / "missing.safetensors").string(), 0) ==
          0);
    CHECK(message(sharded_fixture::good_map, ", \"metadata\": {}").find("duplicate key") != std::string::npos);

    // A tensor in two shards.
    io::save_safetensors(fx.dir / "model-00002-of-00002.safetensors", {io::make_entry("c", fx.c), io::make_entry("a", fx.a)});
    const std::string twice = message(sharded_fixture::good_map);
    CHECK(twice.rfind("starbucks::format_error: " + index + ": tensor \"a\": is in two shards", 0) == 0);
}

// ---- a real file from the Python implementation ----

TEST_CASE("safetensors: tests/data/tiny-bert-ner loads: 24 tensors (25 header keys with __metadata__), dtypes, shapes, format pt") {
    const fs::path path = fs::path(STARBUCKS_TEST_DATA_DIR) / "data" / "tiny-bert-ner" / "model.safetensors";
    struct expected {
        const char* name;
        io::safetensors_dtype dtype;
        shape dims;
    };
    using D = io::safetensors_dtype;
    const std::vector<expected> want = {
        {"bert.embeddings.position_ids", D::i64, {1, 16}},
        {"bert.embeddings.word_embeddings.weight", D::f32, {402, 16}},
        {"bert.embeddings.position_embeddings.weight", D::f32, {16, 16}},
        {"bert.embeddings.token_type_embeddings.weight", D::f32, {2, 16}},
        {"bert.embeddings.LayerNorm.weight", D::f32, {16}},
        {"bert.embeddings.LayerNorm.bias", D::f32, {16}},
        {"bert.encoder.layer.0.attention.self.query.weight", D::f32, {16, 16}},
        {"bert.encoder.layer.0.attention.self.query.bias", D::f32, {16}},
        {"bert.encoder.layer.0.attention.self.key.weight", D::f32, {16, 16}},
        {"bert.encoder.layer.0.attention.self.key.bias", D::f32, {16}},
        {"bert.encoder.layer.0.attention.self.value.weight", D::f32, {16, 16}},
        {"bert.encoder.layer.0.attention.self.value.bias", D::f32, {16}},
        {"bert.encoder.layer.0.attention.output.dense.weight", D::f32, {16, 16}},
        {"bert.encoder.layer.0.attention.output.dense.bias", D::f32, {16}},
        {"bert.encoder.layer.0.attention.output.LayerNorm.weight", D::f32, {16}},
        {"bert.encoder.layer.0.attention.output.LayerNorm.bias", D::f32, {16}},
        {"bert.encoder.layer.0.intermediate.dense.weight", D::f32, {64, 16}},
        {"bert.encoder.layer.0.intermediate.dense.bias", D::f32, {64}},
        {"bert.encoder.layer.0.output.dense.weight", D::f32, {16, 64}},
        {"bert.encoder.layer.0.output.dense.bias", D::f32, {16}},
        {"bert.encoder.layer.0.output.LayerNorm.weight", D::f32, {16}},
        {"bert.encoder.layer.0.output.LayerNorm.bias", D::f32, {16}},
        {"classifier.weight", D::f32, {9, 16}},
        {"classifier.bias", D::f32, {9}},
    };
    for (io::read_mode mode : both_modes) {
        const io::safetensors_file f(path, mode);
        CHECK(f.file_size() == 43380);
        CHECK(f.header_size() == 2504);
        CHECK(f.tensor_count() == 24); // the header's 25th key is __metadata__
        CHECK(f.tensor_count() == want.size());
        CHECK(f.metadata().at("format") == "pt");
        const auto names = f.names();
        for (const expected& e : want) {
            CAPTURE(e.name);
            REQUIRE(f.contains(e.name));
            CHECK(f.info(e.name).dtype == e.dtype);
            CHECK(f.info(e.name).dims == e.dims);
        }
        CHECK(names.front() == "bert.embeddings.position_ids");
        CHECK(names.back() == "classifier.bias");
        const auto ids = f.read<std::int64_t, extents<1, dyn>>("bert.embeddings.position_ids");
        for (std::size_t i = 0; i < 16; ++i) CHECK(ids(0, i) == static_cast<std::int64_t>(i));
        const auto emb = f.read<float, extents<dyn, 16>>("bert.embeddings.word_embeddings.weight");
        CHECK(emb.extent(0) == 402);
        CHECK(f.view<float, extents<dyn, 16>>("bert.embeddings.word_embeddings.weight")(401, 15) == emb(401, 15));
        CHECK(testing::error_message([&] { (void)f.read<float, extents<384, 384>>("classifier.weight"); })
                  .find("tensor \"classifier.weight\": has (9, 16), expected (384, 384)") != std::string::npos);
    }
}

TEST_CASE("safetensors: copying every tensor of the real file through our writer preserves the bytes") {
    temp_dir dir;
    const io::safetensors_file src(fs::path(STARBUCKS_TEST_DATA_DIR) / "data" / "tiny-bert-ner" / "model.safetensors");
    std::vector<io::tensor_entry> entries;
    for (const io::tensor_info& t : src.tensors()) entries.push_back({t.name, t.dtype, t.dims, src.raw_bytes(t.name), {}});
    io::save_safetensors(dir / "copy.safetensors", entries);
    const io::safetensors_file copy(dir / "copy.safetensors");
    CHECK(copy.names() == src.names());
    CHECK(copy.header_size() % 8 == 0);
    for (const io::tensor_info& t : src.tensors()) {
        const auto a = src.raw_bytes(t.name), b = copy.raw_bytes(t.name);
        CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
    }
}

// ---- pieces ----

TEST_CASE("io::detail: UTF-8 accepts every boundary scalar value and rejects each ill-formed kind") {
    using io::detail::find_invalid_utf8;
    CHECK_FALSE(find_invalid_utf8("\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));
    CHECK(find_invalid_utf8("ab\xc1\xbf")->offset == 2);
    CHECK(find_invalid_utf8("\xed\xbf\xbf")->reason == "UTF-16 surrogate");
    CHECK(find_invalid_utf8("\xf0\x8f\xbf\xbf")->reason == "overlong encoding");
    CHECK(find_invalid_utf8("\xf4\x90\x80\x80")->reason == "code point beyond U+10FFFF");
    CHECK(find_invalid_utf8("x\x80")->reason == "continuation byte without a lead byte");
    CHECK(find_invalid_utf8("\xe2\x82")->reason == "truncated sequence");
    CHECK(find_invalid_utf8("\xf8\x88\x80\x80\x80")->reason == "byte never used in UTF-8");
}

TEST_CASE("io::detail: names in messages are escaped and cut") {
    using io::detail::quote_text;
    CHECK(quote_text("a\"b\\c\n\x7f\xc2\x85\xff") == "\"a\\x22b\\x5cc\\x0a\\x7f\\xc2\\x85\\xff\"");
    CHECK(quote_text("é") == "\"é\"");
    const std::string shown = quote_text(std::string(5000, 'n'));
    CHECK(shown.size() < 240);
    CHECK(shown.find("...\" (5000 bytes)") != std::string::npos);
}

} }  // namespace test_safetensors
