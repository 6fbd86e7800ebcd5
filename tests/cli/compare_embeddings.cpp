// SPDX-License-Identifier: Apache-2.0
// Compares two embedding matrices row by row: the `starbucks embed` output against a committed
// reference (tests/fixtures/minilm/*.npy from sentence-transformers / transformers), or two
// outputs of the CLI against each other.
//
// Usage: cli_compare_embeddings ACTUAL EXPECTED --min-cosine C   every row's cosine >= C and its
//                                                                 norm within 1e-4 (relative)
//        cli_compare_embeddings ACTUAL EXPECTED --exact          every value bit-identical
//        either form + --rows 1-40,121-122: ACTUAL holds only those rows of EXPECTED (1-based,
//        inclusive ranges, in order), e.g. the reference backend run on part of a fixture's input
// Each file is .npy or text (one row per line, tab-separated floats, as `embed --format tsv`).
// An .npy file is parsed strictly as NumPy format 1.0 writes a C-order float32 matrix: magic,
// version 1.0, the header dict {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }
// padded with spaces, ended by a newline, data starting at a multiple of 16 bytes (NumPy uses
// 64), and exactly N * D * 4 data bytes after it. Exit 0 when everything holds, 1 otherwise.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct matrix {
    std::size_t rows = 0, cols = 0;
    std::vector<float> values; // row-major
};

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

matrix read_npy(const std::string& path) {
    const std::string bytes = read_all(path);
    const auto fail = [&](const std::string& why) { return std::runtime_error(path + ": not a valid float32 .npy: " + why); };
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw fail("bad magic");
    if (bytes[6] != '\x01' || bytes[7] != '\x00') throw fail("version is not 1.0");
    const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    const std::size_t data_start = 10 + header_len;
    if (bytes.size() < data_start) throw fail("header runs past the end");
    if (data_start % 16 != 0) throw fail("data starts at byte " + std::to_string(data_start) + ", not a multiple of 16");
    const std::string header = bytes.substr(10, header_len);
    if (header.empty() || header.back() != '\n') throw fail("header does not end with a newline");
    static const std::regex dict(R"(^\{'descr': '<f4', 'fortran_order': False, 'shape': \(([0-9]+), ([0-9]+)\), \} *\n$)");
    std::smatch m;
    if (!std::regex_match(header, m, dict)) throw fail("unexpected header " + header);
    matrix out;
    out.rows = std::stoul(m[1].str());
    out.cols = std::stoul(m[2].str());
    if (bytes.size() - data_start != out.rows * out.cols * 4)
        throw fail(std::to_string(bytes.size() - data_start) + " data bytes for shape (" + std::to_string(out.rows) + ", " +
                   std::to_string(out.cols) + ")");
    out.values.resize(out.rows * out.cols);
    for (std::size_t i = 0; i < out.values.size(); ++i) {
        std::uint32_t bits = 0;
        for (int k = 0; k < 4; ++k) bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[data_start + 4 * i + k])) << (8 * k);
        out.values[i] = std::bit_cast<float>(bits);
    }
    return out;
}

matrix read_tsv(const std::string& path) {
    std::istringstream in(read_all(path));
    matrix out;
    for (std::string line; std::getline(in, line);) {
        std::size_t fields = 0;
        std::istringstream row(line);
        for (std::string f; std::getline(row, f, '\t'); ++fields) {
            std::size_t used = 0;
            const float v = std::stof(f, &used);
            if (used != f.size()) throw std::runtime_error(path + ":" + std::to_string(out.rows + 1) + ": `" + f + "` is not a number");
            out.values.push_back(v);
        }
        if (out.rows == 0) out.cols = fields;
        if (fields != out.cols || fields == 0)
            throw std::runtime_error(path + ":" + std::to_string(out.rows + 1) + ": " + std::to_string(fields) + " fields, expected " +
                                     std::to_string(out.cols));
        ++out.rows;
    }
    return out;
}

matrix read_matrix(const std::string& path) {
    return path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0 ? read_npy(path) : read_tsv(path);
}

} // namespace

/// The rows of `m` named by `spec` ("1-40,121-122": 1-based inclusive ranges), in that order.
matrix select_rows(const matrix& m, const std::string& spec) {
    matrix out;
    out.cols = m.cols;
    std::size_t at = 0;
    while (at < spec.size()) {
        const std::size_t comma = std::min(spec.find(',', at), spec.size());
        const std::string range = spec.substr(at, comma - at);
        const std::size_t dash = range.find('-');
        const std::size_t first = std::stoul(range.substr(0, dash)), last = dash == std::string::npos ? first : std::stoul(range.substr(dash + 1));
        if (first == 0 || last < first || last > m.rows)
            throw std::runtime_error("--rows " + spec + ": range " + range + " is not within 1.." + std::to_string(m.rows));
        for (std::size_t r = first; r <= last; ++r) {
            out.values.insert(out.values.end(), m.values.begin() + static_cast<std::ptrdiff_t>((r - 1) * m.cols),
                              m.values.begin() + static_cast<std::ptrdiff_t>(r * m.cols));
            ++out.rows;
        }
        at = comma + 1;
    }
    return out;
}

int main(int argc, char** argv) {
    std::string rows;
    if (argc >= 6 && std::strcmp(argv[argc - 2], "--rows") == 0) {
        rows = argv[argc - 1];
        argc -= 2;
    }
    const bool exact = argc == 4 && std::strcmp(argv[3], "--exact") == 0;
    if (!(exact || (argc == 5 && std::strcmp(argv[3], "--min-cosine") == 0))) {
        std::fprintf(stderr, "usage: cli_compare_embeddings ACTUAL EXPECTED (--min-cosine C | --exact) [--rows RANGES]\n");
        return 1;
    }
    try {
        const matrix a = read_matrix(argv[1]);
        const matrix e = rows.empty() ? read_matrix(argv[2]) : select_rows(read_matrix(argv[2]), rows);
        if (a.rows != e.rows || a.cols != e.cols || a.rows == 0) {
            std::fprintf(stderr, "shape (%zu, %zu) vs expected (%zu, %zu)\n", a.rows, a.cols, e.rows, e.cols);
            return 1;
        }
        for (float v : a.values)
            if (!std::isfinite(v)) {
                std::fprintf(stderr, "%s holds a non-finite value\n", argv[1]);
                return 1;
            }
        if (exact) {
            for (std::size_t i = 0; i < a.values.size(); ++i)
                if (std::bit_cast<std::uint32_t>(a.values[i]) != std::bit_cast<std::uint32_t>(e.values[i])) {
                    std::fprintf(stderr, "row %zu dim %zu: %.9g vs %.9g\n", i / a.cols + 1, i % a.cols, static_cast<double>(a.values[i]),
                                 static_cast<double>(e.values[i]));
                    return 1;
                }
            std::printf("%zu x %zu values identical\n", a.rows, a.cols);
            return 0;
        }
        const double min_cosine = std::stod(argv[4]);
        double worst_cos = 2, worst_norm = 0;
        std::size_t worst_row = 0, bad = 0;
        for (std::size_t r = 0; r < a.rows; ++r) {
            double dot = 0, na = 0, ne = 0;
            for (std::size_t c = 0; c < a.cols; ++c) {
                const double x = a.values[r * a.cols + c], y = e.values[r * a.cols + c];
                dot += x * y;
                na += x * x;
                ne += y * y;
            }
            const double cos = dot / std::sqrt(na * ne);
            const double norm = std::fabs(std::sqrt(na / ne) - 1);
            if (cos < worst_cos) worst_cos = cos, worst_row = r + 1;
            worst_norm = std::max(worst_norm, norm);
            if (!(cos >= min_cosine) || !(norm <= 1e-4)) {
                if (bad++ < 5) std::fprintf(stderr, "row %zu: cosine %.9f, norm ratio off by %.3g\n", r + 1, cos, norm);
            }
        }
        std::printf("%zu rows of %zu: min cosine %.9f (row %zu), max norm deviation %.3g\n", a.rows, a.cols, worst_cos, worst_row, worst_norm);
        if (bad) {
            std::fprintf(stderr, "%zu of %zu rows below cosine %g or off in norm by more than 1e-4\n", bad, a.rows, min_cosine);
            return 1;
        }
        return 0;
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "%s\n", ex.what());
        return 1;
    }
}
