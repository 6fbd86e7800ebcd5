// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the data tests: paths of the row files (tests/data/rows/, written by
// generate.py there) and of the shipped datasets (examples/data/).
#pragma once

#include <string>

#include "testing.hpp"

namespace starbucks::testing {

inline std::string rows_file(const std::string& name) { return std::string(STARBUCKS_TEST_DATA_DIR) + "/data/rows/" + name; }
inline std::string examples_file(const std::string& name) { return std::string(STARBUCKS_EXAMPLES_DATA_DIR) + "/" + name; }

/// The message of the format_error `f` throws; fails the test when it throws nothing else.
template <class F>
std::string format_error_message(F&& f) {
    try {
        f();
    } catch (const format_error& e) {
        return e.what();
    } catch (const std::exception& e) {
        FAIL("expected a format_error, got: " << e.what());
    }
    FAIL("expected a format_error, nothing was thrown");
    return "";
}

} // namespace starbucks::testing
