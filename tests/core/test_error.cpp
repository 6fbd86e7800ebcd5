// SPDX-License-Identifier: Apache-2.0
// The error types: exit codes per kind, the one-line what() formats, accessors and the hierarchy.
#include "testing.hpp"

#include <stdexcept>
#include <type_traits>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_error {

using namespace starbucks;

TEST_CASE("error: each kind maps to its exit code") {
    CHECK(exit_code(error_kind::usage) == 1);
    CHECK(exit_code(error_kind::format) == 2);
    CHECK(exit_code(error_kind::unsupported) == 2);
    CHECK(exit_code(error_kind::model) == 2);
    CHECK(exit_code(error_kind::shape) == 2);
    CHECK(exit_code(error_kind::numeric) == 3);
    CHECK(exit_code(error_kind::io) == 4);
    CHECK(exit_code(error_kind::resource) == 5);
    CHECK(exit_code(error_kind::internal) == 70);
    static_assert(exit_code(error_kind::internal) == 70); // usable where main builds its table
}

TEST_CASE("error: each error type reports its own kind and name") {
    CHECK(usage_error("w", "r").kind() == error_kind::usage);
    CHECK(format_error("w", "r").kind() == error_kind::format);
    CHECK(unsupported_error("w", "r").kind() == error_kind::unsupported);
    CHECK(model_error("w", "r").kind() == error_kind::model);
    CHECK(shape_error("w", "r").kind() == error_kind::shape);
    CHECK(numeric_error("w", "r").kind() == error_kind::numeric);
    CHECK(io_error("w", "r").kind() == error_kind::io);
    CHECK(resource_error("w", "r").kind() == error_kind::resource);
    CHECK(internal_error("w", "r").kind() == error_kind::internal);
    CHECK(to_string(error_kind::usage) == "usage_error");
    CHECK(to_string(error_kind::format) == "format_error");
    CHECK(to_string(error_kind::unsupported) == "unsupported_error");
    CHECK(to_string(error_kind::model) == "model_error");
    CHECK(to_string(error_kind::shape) == "shape_error");
    CHECK(to_string(error_kind::numeric) == "numeric_error");
    CHECK(to_string(error_kind::io) == "io_error");
    CHECK(to_string(error_kind::resource) == "resource_error");
    CHECK(to_string(error_kind::internal) == "internal_error");
}

TEST_CASE("error: an API error reads starbucks::<function>: <rule>") {
    const shape_error e("starbucks::matmul", "inner extents differ: lhs (32, 768) vs rhs (384, 128)");
    CHECK(std::string(e.what()) == "starbucks::matmul: inner extents differ: lhs (32, 768) vs rhs (384, 128)");
    CHECK(e.where() == "starbucks::matmul");
    CHECK(e.object().empty());
    CHECK(e.rule() == "inner extents differ: lhs (32, 768) vs rhs (384, 128)");
    // With an object, it sits between function and rule.
    const usage_error u("starbucks::dropout", "p", "probability 2 is outside [0, 1]");
    CHECK(std::string(u.what()) == "starbucks::dropout: p: probability 2 is outside [0, 1]");
    CHECK(u.object() == "p");
}

TEST_CASE("error: an input error reads starbucks::<kind>: <file@offset>: <object>: <rule>") {
    const format_error e("file.safetensors@8", "tensor \"x\"", "rule");
    CHECK(std::string(e.what()) == "starbucks::format_error: file.safetensors@8: tensor \"x\": rule");
    CHECK(e.kind() == error_kind::format);
    CHECK(e.where() == "file.safetensors@8");
    CHECK(e.object() == "tensor \"x\"");
    CHECK(e.rule() == "rule");
    // Without an object the middle part is left out; without a rule too.
    CHECK(std::string(io_error("out/model.safetensors", "rename failed").what()) ==
          "starbucks::io_error: out/model.safetensors: rename failed");
    CHECK(std::string(model_error("config.json:3:7", "").what()) == "starbucks::model_error: config.json:3:7");
}

TEST_CASE("error: every error derives from starbucks::error and std::runtime_error") {
    static_assert(std::is_base_of_v<std::runtime_error, error>);
    static_assert(std::is_base_of_v<error, usage_error>);
    static_assert(std::is_base_of_v<error, format_error>);
    static_assert(std::is_base_of_v<error, unsupported_error>);
    static_assert(std::is_base_of_v<error, model_error>);
    static_assert(std::is_base_of_v<error, shape_error>);
    static_assert(std::is_base_of_v<error, numeric_error>);
    static_assert(std::is_base_of_v<error, io_error>);
    static_assert(std::is_base_of_v<error, resource_error>);
    static_assert(std::is_base_of_v<error, internal_error>);
    static_assert(std::is_base_of_v<std::runtime_error, internal_error>);
    // Caught as std::runtime_error, the message and, through starbucks::error, the kind survive.
    try {
        throw numeric_error("starbucks::train", "loss is NaN at step 12");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "starbucks::train: loss is NaN at step 12");
        const auto* se = dynamic_cast<const error*>(&e);
        REQUIRE(se != nullptr);
        CHECK(exit_code(se->kind()) == 3);
    }
}

TEST_CASE("error: the library's own throws carry the right kind") {
    tensor<float, extents<dyn>> a(2), b(3);
    try {
        (void)add(a, b);
        FAIL("no exception");
    } catch (const error& e) {
        CHECK(e.kind() == error_kind::shape);
        CHECK(e.where() == "starbucks::add");
        CHECK(e.rule() == "shapes (2) and (3) do not broadcast");
    }
    try {
        (void)dropout(a, 1.5f, rng_stream{});
        FAIL("no exception");
    } catch (const error& e) {
        CHECK(e.kind() == error_kind::usage);
        CHECK(exit_code(e.kind()) == 1);
    }
}

} }  // namespace test_error
