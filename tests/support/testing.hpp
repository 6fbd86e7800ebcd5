// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the test suites: backend lists, random tensors, comparisons.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include <starbucks/starbucks.hpp>

#include "fake_device.hpp"
#ifdef STARBUCKS_TEST_BACKENDS_CUDA
#include <starbucks/backend/cuda/cuda.hpp>
#endif
#ifdef STARBUCKS_WITH_EIGEN
#include <starbucks/backend/cpu_eigen/cpu_eigen.hpp>
#define STARBUCKS_TEST_EIGEN , ::starbucks::backend::cpu_eigen
#else
#define STARBUCKS_TEST_EIGEN
#endif
#ifdef STARBUCKS_WITH_ONEDNN
#include <starbucks/backend/cpu_onednn/cpu_onednn.hpp>
#define STARBUCKS_TEST_ONEDNN , ::starbucks::backend::cpu_onednn
#else
#define STARBUCKS_TEST_ONEDNN
#endif

namespace starbucks::testing {

/// A fresh directory under the system temp dir, removed with everything in it (write permission
/// restored first, for tests that take it away).
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        static std::atomic<int> counter{0};
        path = std::filesystem::temp_directory_path() /
               ("starbucks-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::permissions(path, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    std::filesystem::path operator/(const std::string& name) const { return path / name; }
    /// The names directly inside, sorted.
    std::vector<std::string> files() const {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
    /// Writes `text` to `relative`, creating its folders.
    void write(const std::string& relative, const std::string& text) const {
        std::filesystem::create_directories((path / relative).parent_path());
        std::ofstream(path / relative, std::ios::binary) << text;
    }
};

/// Every backend the typed suites run on: the reference, each enabled fast backend, and
/// fake_device (host memory the host may not read: the typed suites move data as a GPU needs;
/// STARBUCKS_TEST_FAKE_DEVICE: on by default, off in the CI presets).
/// The cuda suite compiles the same files with STARBUCKS_TEST_BACKENDS_CUDA: backend::cuda alone.
#ifdef STARBUCKS_TEST_BACKENDS_CUDA
#define STARBUCKS_TEST_BACKENDS ::starbucks::backend::cuda
#elif defined(STARBUCKS_TEST_FAKE_DEVICE)
#define STARBUCKS_TEST_BACKENDS ::starbucks::backend::reference STARBUCKS_TEST_EIGEN STARBUCKS_TEST_ONEDNN, ::starbucks::testing::fake_device
#else
#define STARBUCKS_TEST_BACKENDS ::starbucks::backend::reference STARBUCKS_TEST_EIGEN STARBUCKS_TEST_ONEDNN
#endif

/// Whether backend B has f64 kernels (backend::cuda has f32 math only, and says so).
template <class B>
inline constexpr bool has_f64 = [] {
    if constexpr (requires { B::template math_type<double>; }) return B::template math_type<double>;
    else return true;
}();

/// A reproducible random tensor with values in [lo, hi).
template <class T, class B = backend::reference, class E>
tensor<T, E, B> random(const E& e, std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
    return random_uniform<T, B>(e, rng_stream{seed, 0}, lo, hi);
}

/// Normalised mean squared error ||a - b||^2 / max(||b||^2, tiny), for cross-backend checks.
template <class VA, class VB>
double normalized_mse(const VA& a, const VB& b) {
    REQUIRE(a.dims() == b.dims());
    double num = 0, den = 0;
    const auto va = as_const_view(a);
    const auto vb = as_const_view(b);
    const auto ca = host_copy(va); // device tensors are downloaded
    const auto cb = host_copy(vb);
    for (std::size_t i = 0; i < ca.size(); ++i) {
        const double d = double(ca.data()[i]) - double(cb.data()[i]);
        num += d * d;
        den += double(cb.data()[i]) * double(cb.data()[i]);
    }
    return num / (den > 1e-300 ? den : 1e-300);
}

/// Normwise relative error ||a - b|| / ||b||: the cross-backend tolerance measure.
template <class VA, class VB>
double relative_error(const VA& a, const VB& b) {
    return std::sqrt(normalized_mse(a, b));
}

/// Maximum absolute difference of two tensors of the same shape.
template <class VA, class VB>
double max_abs_diff(const VA& a, const VB& b) {
    REQUIRE(as_const_view(a).dims() == as_const_view(b).dims());
    const auto ca = host_copy(as_const_view(a));
    const auto cb = host_copy(as_const_view(b));
    double m = 0;
    for (std::size_t i = 0; i < ca.size(); ++i) m = std::max(m, std::abs(double(ca.data()[i]) - double(cb.data()[i])));
    return m;
}

/// The message of the exception `f` throws, or "" when it throws none.
template <class F>
std::string error_message(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

} // namespace starbucks::testing
