// SPDX-License-Identifier: Apache-2.0
// The error types the library throws; `main` maps their kind to an exit code.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "../config.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// @brief What went wrong, in the categories of RELIABILITY.md; each maps to one exit code.
enum class error_kind { usage, format, unsupported, model, shape, numeric, io, resource, internal };

/// @brief The process exit code for an error kind (RELIABILITY.md, section 2).
constexpr int exit_code(error_kind k) noexcept {
    switch (k) {
    case error_kind::usage: return 1;
    case error_kind::format:
    case error_kind::unsupported:
    case error_kind::model:
    case error_kind::shape: return 2;
    case error_kind::numeric: return 3;
    case error_kind::io: return 4;
    case error_kind::resource: return 5;
    case error_kind::internal: return 70;
    }
    return 70;
}

constexpr std::string_view to_string(error_kind k) noexcept {
    switch (k) {
    case error_kind::usage: return "usage_error";
    case error_kind::format: return "format_error";
    case error_kind::unsupported: return "unsupported_error";
    case error_kind::model: return "model_error";
    case error_kind::shape: return "shape_error";
    case error_kind::numeric: return "numeric_error";
    case error_kind::io: return "io_error";
    case error_kind::resource: return "resource_error";
    case error_kind::internal: return "internal_error";
    }
    return "error";
}

/// @brief Base of every exception the library throws.
///
/// `what()` is one line: `starbucks::<where>: <rule>` for API errors (where = the function),
/// `starbucks::<kind>: <where>: <object>: <rule>` for input errors that name a file and an object.
class error : public std::runtime_error {
public:
    error(error_kind kind, std::string where, std::string object, std::string rule)
        : std::runtime_error(compose(kind, where, object, rule)), kind_(kind), where_(std::move(where)),
          object_(std::move(object)), rule_(std::move(rule)) {}

    error_kind kind() const noexcept { return kind_; }
    /// The function, or file with line:col or byte offset, where the error was detected.
    const std::string& where() const noexcept { return where_; }
    /// The tensor, key, row, flag or op concerned (may be empty).
    const std::string& object() const noexcept { return object_; }
    /// The rule that was broken, with the offending values.
    const std::string& rule() const noexcept { return rule_; }

private:
    static std::string compose(error_kind kind, const std::string& where, const std::string& object,
                               const std::string& rule) {
        // API errors name a `starbucks::` function already; input errors name a file.
        std::string s = where.rfind("starbucks::", 0) == 0 ? where : "starbucks::" + std::string(to_string(kind)) + ": " + where;
        if (!object.empty()) s += ": " + object;
        if (!rule.empty()) s += ": " + rule;
        return s;
    }

    error_kind kind_;
    std::string where_, object_, rule_;
};

#define STARBUCKS_DEFINE_ERROR(name, kind_value)                                               \
    class name : public error {                                                                \
    public:                                                                                    \
        explicit name(std::string where, std::string rule)                                     \
            : error(kind_value, std::move(where), std::string(), std::move(rule)) {}           \
        name(std::string where, std::string object, std::string rule)                          \
            : error(kind_value, std::move(where), std::move(object), std::move(rule)) {}       \
    };

/// Bad or unknown flags; pairs that don't fit the model.
STARBUCKS_DEFINE_ERROR(usage_error, error_kind::usage)
/// Malformed file content: safetensors, JSON, vocab, dataset row.
STARBUCKS_DEFINE_ERROR(format_error, error_kind::format)
/// Valid but not supported here (a dtype, a file kind).
STARBUCKS_DEFINE_ERROR(unsupported_error, error_kind::unsupported)
/// Missing or extra tensor, shape that disagrees with the config.
STARBUCKS_DEFINE_ERROR(model_error, error_kind::model)
/// Run-time shape mismatch at the API, out-of-range index or prefix.
STARBUCKS_DEFINE_ERROR(shape_error, error_kind::shape)
/// Non-finite loss, gradient or weight.
STARBUCKS_DEFINE_ERROR(numeric_error, error_kind::numeric)
/// Write, fsync or rename failed.
STARBUCKS_DEFINE_ERROR(io_error, error_kind::io)
/// Memory over budget, allocation failed.
STARBUCKS_DEFINE_ERROR(resource_error, error_kind::resource)
/// A broken invariant: our bug.
STARBUCKS_DEFINE_ERROR(internal_error, error_kind::internal)

#undef STARBUCKS_DEFINE_ERROR

STARBUCKS_NAMESPACE_END
