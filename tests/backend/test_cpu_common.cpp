// SPDX-License-Identifier: Apache-2.0
// cpu_common's strided copy / accumulate / binary, dropout and AdamW kernels give bitwise the
// reference backend's results on every layout the autograd produces (contiguous, transposed,
// broadcast, reduced across rows or within them), on both sides of the parallel threshold.
#include "testing.hpp"

#include <cstring>
#include <vector>

#ifdef STARBUCKS_WITH_EIGEN
#include <starbucks/backend/cpu_eigen/cpu_eigen.hpp>
#endif
#ifdef STARBUCKS_WITH_ONEDNN
#include <starbucks/backend/cpu_onednn/cpu_onednn.hpp>
#endif

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_cpu_common {

using namespace starbucks;
using backend::strided;
using reference = backend::reference;

std::vector<float> values(std::size_t n, std::uint64_t seed) {
    std::vector<float> v(n);
    const rng_stream r{seed, 7};
    for (std::size_t i = 0; i < n; ++i) v[i] = 2.0f * r.uniform(i) - 1.0f + 0.01f; // never exactly 0 (div)
    return v;
}

/// A layout of `dims` with explicit strides.
layout strides_of(const shape& dims, std::initializer_list<std::ptrdiff_t> s) {
    layout l;
    l.dims = dims;
    std::size_t i = 0;
    for (auto v : s) l.strides[i++] = v;
    return l;
}

/// Elements a layout reaches: 1 + the largest offset.
std::size_t span_of(const layout& l) {
    std::ptrdiff_t last = 0;
    for (std::size_t ax = 0; ax < l.dims.rank; ++ax) last += (static_cast<std::ptrdiff_t>(l.dims.dims[ax]) - 1) * l.strides[ax];
    return static_cast<std::size_t>(last) + 1;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// One (destination, source) pair of layouts over the same iteration shape.
struct two_layouts {
    const char* what;
    layout dst, src;
};

std::vector<two_layouts> copy_cases() {
    const shape big{300, 384}, small{3, 5}, heads{4, 32, 12, 32};
    return {
        {"contiguous, parallel", layout::contiguous(big), layout::contiguous(big)},
        {"contiguous, small", layout::contiguous(small), layout::contiguous(small)},
        {"transposed source", layout::contiguous(big), strides_of(big, {1, 300})},
        {"heads split (B,T,H,D) from (B,H,T,D)", layout::contiguous(heads), strides_of(heads, {12 * 32 * 32, 32, 32 * 32, 1})},
        {"every other column", layout::contiguous(small), strides_of(small, {10, 2})},
    };
}

std::vector<two_layouts> accumulate_cases() {
    auto all = copy_cases();
    const shape big{512, 384}, tall{40000, 3}, small{3, 5};
    all.push_back({"reduced across rows (a bias gradient)", strides_of(big, {0, 1}), layout::contiguous(big)});
    const shape odd{300, 1000}; // 1000 = 15 blocks of 64, 2 of 16 and 8 single columns
    all.push_back({"reduced across rows, odd width", strides_of(odd, {0, 1}), layout::contiguous(odd)});
    all.push_back({"reduced across rows of a wider parent", strides_of(odd, {0, 1}), strides_of(odd, {1200, 1})});
    all.push_back({"reduced across rows, narrow rows", strides_of(tall, {0, 1}), layout::contiguous(tall)});
    all.push_back({"reduced within rows", strides_of(big, {1, 0}), layout::contiguous(big)});
    all.push_back({"reduced to one element", strides_of(big, {0, 0}), layout::contiguous(big)});
    all.push_back({"reduced, small", strides_of(small, {0, 1}), layout::contiguous(small)});
    all.push_back({"prefix of a wider parent", strides_of(big, {768, 1}), layout::contiguous(big)});
    return all;
}

template <class B>
void check_copy_and_accumulate() {
    for (const auto& c : copy_cases()) {
        CAPTURE(c.what);
        const auto src = values(span_of(c.src), 1);
        std::vector<float> want(span_of(c.dst), 0.0f), got = want;
        reference::copy(reference::default_context(), strided<float>{want.data(), c.dst}, strided<const float>{src.data(), c.src});
        B::copy(B::default_context(), strided<float>{got.data(), c.dst}, strided<const float>{src.data(), c.src});
        CHECK(bitwise_equal(want, got));
    }
    for (const auto& c : accumulate_cases()) {
        CAPTURE(c.what);
        const auto src = values(span_of(c.src), 2);
        std::vector<float> want = values(span_of(c.dst), 3), got = want;
        reference::accumulate(reference::default_context(), strided<float>{want.data(), c.dst}, strided<const float>{src.data(), c.src}, 0.75f);
        B::accumulate(B::default_context(), strided<float>{got.data(), c.dst}, strided<const float>{src.data(), c.src}, 0.75f);
        CHECK(bitwise_equal(want, got));
    }
}

template <class B>
void check_binary() {
    const shape big{300, 384}, small{3, 5};
    struct three {
        const char* what;
        layout out, a, b;
        bool accumulate;
    };
    const std::vector<three> cases{
        {"same layout", layout::contiguous(big), layout::contiguous(big), layout::contiguous(big), false},
        {"bias along rows", layout::contiguous(big), layout::contiguous(big), strides_of(big, {0, 1}), false},
        {"scalar", layout::contiguous(big), layout::contiguous(big), strides_of(big, {0, 0}), false},
        {"column broadcast", layout::contiguous(big), layout::contiguous(big), strides_of(big, {1, 0}), false},
        {"transposed operand", layout::contiguous(big), strides_of(big, {1, 300}), layout::contiguous(big), false},
        {"accumulate, same layout", layout::contiguous(big), layout::contiguous(big), layout::contiguous(big), true},
        {"accumulate reduced across rows", strides_of(big, {0, 1}), layout::contiguous(big), strides_of(big, {0, 1}), true},
        {"accumulate reduced to one element", strides_of(big, {0, 0}), layout::contiguous(big), layout::contiguous(big), true},
        {"small", layout::contiguous(small), layout::contiguous(small), strides_of(small, {0, 1}), false},
    };
    for (const auto op : {backend::binary_op::add, backend::binary_op::sub, backend::binary_op::mul, backend::binary_op::div}) {
        for (const auto& c : cases) {
            CAPTURE(c.what);
            CAPTURE(static_cast<int>(op));
            const auto a = values(span_of(c.a), 4), b = values(span_of(c.b), 5);
            std::vector<float> want = values(span_of(c.out), 6), got = want;
            reference::binary(reference::default_context(), op, strided<float>{want.data(), c.out}, strided<const float>{a.data(), c.a},
                              strided<const float>{b.data(), c.b}, c.accumulate);
            B::binary(B::default_context(), op, strided<float>{got.data(), c.out}, strided<const float>{a.data(), c.a},
                      strided<const float>{b.data(), c.b}, c.accumulate);
            CHECK(bitwise_equal(want, got));
        }
    }
}

template <class B>
void check_dropout_and_adamw() {
    for (const std::size_t n : {std::size_t{7}, std::size_t{100003}}) {
        CAPTURE(n);
        const auto x = values(n, 8);
        std::vector<float> y_want(n), m_want(n), y_got(n), m_got(n);
        // Seeds and streams with high words too: the vector Philox carries all 128 bits.
        const rng_stream big{0x123456789abcdefull, 0xfedcba987654321ull};
        reference::dropout(reference::default_context(), n, 0.3f, big, x.data(), y_want.data(), m_want.data());
        B::dropout(B::default_context(), n, 0.3f, big, x.data(), y_got.data(), m_got.data());
        CHECK(bitwise_equal(y_want, y_got));
        CHECK(bitwise_equal(m_want, m_got));
        const rng_stream rng{42, 9};
        reference::dropout(reference::default_context(), n, 0.1f, rng, x.data(), y_want.data(), m_want.data());
        B::dropout(B::default_context(), n, 0.1f, rng, x.data(), y_got.data(), m_got.data());
        CHECK(bitwise_equal(y_want, y_got));
        CHECK(bitwise_equal(m_want, m_got));
        // The mask is the reference's element-by-element draw: kept exactly when uniform(i) >= p.
        std::size_t kept = 0;
        for (std::size_t i = 0; i < n; ++i) kept += (m_got[i] != 0.0f) == (rng.uniform(i) >= 0.1f);
        CHECK(kept == n);
        // A tail drawn from the stream advanced to its first element (fused attention's tiles)
        // is bitwise that part of the whole pass, whatever the offset's alignment to a block.
        for (const std::size_t from : {std::size_t{1}, std::size_t{3}, std::size_t{6}, n / 2 + 1}) {
            if (from >= n) continue;
            CAPTURE(from);
            std::vector<float> y_part(n - from), m_part(n - from);
            B::dropout(B::default_context(), n - from, 0.1f, rng.advanced(from), x.data() + from, y_part.data(), m_part.data());
            CHECK(bitwise_equal(std::vector<float>(y_want.begin() + std::ptrdiff_t(from), y_want.end()), y_part));
            CHECK(bitwise_equal(std::vector<float>(m_want.begin() + std::ptrdiff_t(from), m_want.end()), m_part));
        }

        // AdamW (8 lanes at a time where the CPU has AVX-512, the tail scalar): every bit of the
        // reference's update, on a constant and on a varied second moment, first and later steps.
        const auto g = values(n, 10);
        std::vector<float> varied_v = values(n, 13);
        for (float& x : varied_v) x = x * x * 1e-3f;
        for (const auto& [v0, step] : {std::pair{std::vector<float>(n, 0.5f), 3L}, std::pair{varied_v, 1L}, std::pair{varied_v, 1000L}}) {
            std::vector<float> p_want = values(n, 11), mo_want = values(n, 12), v_want = v0;
            std::vector<float> p_got = p_want, mo_got = mo_want, v_got = v_want;
            const backend::detail::adamw_args args{1e-3, 0.9, 0.999, 1e-8, 0.01, step};
            reference::adamw(reference::default_context(), n, args, p_want.data(), g.data(), mo_want.data(), v_want.data());
            B::adamw(B::default_context(), n, args, p_got.data(), g.data(), mo_got.data(), v_got.data());
            CHECK(bitwise_equal(p_want, p_got));
            CHECK(bitwise_equal(mo_want, mo_got));
            CHECK(bitwise_equal(v_want, v_got));
        }

        const double want = reference::squared_norm(reference::default_context(), n, g.data());
        const double got = B::squared_norm(B::default_context(), n, g.data());
        CHECK(std::abs(got - want) <= 1e-12 * want);
    }
}

template <class B>
void check_all() {
    check_copy_and_accumulate<B>();
    check_binary<B>();
    check_dropout_and_adamw<B>();
}

#ifdef STARBUCKS_WITH_ONEDNN
TEST_CASE("cpu_common kernels on cpu_onednn: bitwise the reference's copies, sums, binary ops, dropout and AdamW") {
    check_all<backend::cpu_onednn>();
}
#endif
#ifdef STARBUCKS_WITH_EIGEN
TEST_CASE("cpu_common kernels on cpu_eigen: bitwise the reference's copies, sums, binary ops, dropout and AdamW") {
    check_all<backend::cpu_eigen>();
}
#endif

TEST_CASE("cpu_common kernels: results do not depend on the thread count") {
#if defined(_OPENMP) && defined(STARBUCKS_WITH_ONEDNN)
    using B = backend::cpu_onednn;
    const shape big{512, 384};
    const auto src = values(big.size(), 13);
    const auto run = [&](int threads) {
        backend::set_num_threads(threads);
        std::vector<float> bias(384, 0.0f);
        B::accumulate(B::default_context(), strided<float>{bias.data(), strides_of(big, {0, 1})},
                      strided<const float>{src.data(), layout::contiguous(big)}, 1.0f);
        return bias;
    };
    const int before = backend::num_threads();
    const auto one = run(1), two = run(2), three = run(3);
    backend::set_num_threads(before);
    CHECK(bitwise_equal(one, two));
    CHECK(bitwise_equal(one, three));
#endif
}

} } // namespace test_cpu_common
