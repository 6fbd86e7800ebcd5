// SPDX-License-Identifier: Apache-2.0
// distributed::fingerprint, check_same_everywhere and agree_to_start: the start-up handshake of
// data-parallel runs — every rank runs the same configuration on the same data, and a rank that
// cannot start takes the others down with a clear error instead of leaving them waiting.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "../config.hpp"
#include "../core/error.hpp"
#include "communicator.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace distributed {

/// @brief A 64-bit FNV-1a digest of bytes, fed piece by piece (not cryptographic: it tells
/// ranks apart that were handed different options or files by mistake).
class fingerprint {
public:
    fingerprint& add(std::string_view bytes) noexcept {
        for (const char c : bytes) h_ = (h_ ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        return add_length(bytes.size());
    }
    fingerprint& add(double v) noexcept { return add(std::string_view(reinterpret_cast<const char*>(&v), sizeof v)); }
    std::uint64_t value() const noexcept { return h_; }

private:
    fingerprint& add_length(std::size_t n) noexcept { // "ab"+"c" and "a"+"bc" differ
        for (int i = 0; i < 8; ++i) h_ = (h_ ^ ((n >> (8 * i)) & 0xff)) * 1099511628211ull;
        return *this;
    }
    std::uint64_t h_ = 1469598103934665603ull;
};

/// @brief Throws usage_error on every rank when `value` (a fingerprint of `what`) differs
/// between ranks, naming the first rank that disagrees with rank 0.
inline void check_same_everywhere(communicator& comm, std::uint64_t value, const std::string& what) {
    const auto all = all_gather_one(comm, value);
    for (std::size_t r = 1; r < all.size(); ++r)
        if (all[r] != all[0])
            throw usage_error("starbucks::distributed", "rank " + std::to_string(r) + " has other " + what + " than rank 0; every process must run the "
                                                        "same command on the same files");
}

/// @brief Runs `prepare()` on every rank, then all learn whether every rank succeeded: a rank
/// whose prepare() threw rethrows its error, the others throw usage_error naming it. Call with
/// the checks that come before anything is written, so no rank starts a run another refused.
template <class Prepare>
void agree_to_start(communicator& comm, Prepare&& prepare) {
    std::exception_ptr failed;
    try {
        prepare();
    } catch (...) {
        if (comm.is_single()) throw;
        failed = std::current_exception();
    }
    if (comm.is_single()) return;
    const auto ok = all_gather_one(comm, static_cast<int>(!failed));
    if (failed) std::rethrow_exception(failed);
    for (std::size_t r = 0; r < ok.size(); ++r)
        if (!ok[r]) throw usage_error("starbucks::distributed", "rank " + std::to_string(r) + " could not start (see its error); no rank trains");
}

} // namespace distributed
STARBUCKS_NAMESPACE_END
