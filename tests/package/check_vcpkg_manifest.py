#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Validates a port's vcpkg.json against the rules of vcpkg's manifest schema (vcpkg.schema.json
and the manifest reference): known keys only, a valid port name, exactly one version field whose
value parses for its scheme, descriptions, dependency objects, features and default features;
plus the order `vcpkg format-manifest` writes (keys, sorted dependencies and features).
The vcpkg tool itself is not available here, so these rules are written out below.

usage: check_vcpkg_manifest.py PATH/TO/vcpkg.json
"""
import datetime
import json
import re
import sys

IDENTIFIER = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
RESERVED = {"prn", "aux", "nul", "con", "core", "default", "all"} | {f"lpt{i}" for i in range(1, 10)} | {f"com{i}" for i in range(1, 10)}
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
                    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
RELAXED = re.compile(r"^\d+(\.\d+)*$")
VERSION_KEYS = ("version", "version-semver", "version-date", "version-string")
# The order `vcpkg format-manifest` writes the top-level keys in.
KEY_ORDER = ["$schema", "$comment", "name", *VERSION_KEYS, "port-version", "maintainers", "summary", "description",
             "homepage", "documentation", "license", "builtin-baseline", "supports", "dependencies",
             "default-features", "features", "overrides", "vcpkg-configuration"]
DEPENDENCY_KEYS = {"$comment", "name", "host", "default-features", "features", "platform", "version>="}
FEATURE_KEYS = {"$comment", "description", "dependencies", "supports", "license"}

errors = []


def error(where, what):
    errors.append(f"{where}: {what}")


def check_identifier(where, name):
    if not isinstance(name, str) or not IDENTIFIER.match(name) or name in RESERVED:
        error(where, f"{name!r} is not a valid name (lower-case letters, digits and single dashes; not reserved)")


def check_text(where, value, required):
    if value is None:
        if required:
            error(where, "is required")
        return
    ok = isinstance(value, str) and value.strip() or (
        isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value))
    if not ok:
        error(where, "must be a non-empty string or a non-empty array of strings")


def check_dependencies(where, deps):
    if not isinstance(deps, list):
        error(where, "must be an array")
        return []
    names = []
    for i, dep in enumerate(deps):
        at = f"{where}[{i}]"
        if isinstance(dep, str):
            check_identifier(at, dep)
            names.append(dep)
            continue
        if not isinstance(dep, dict):
            error(at, "must be a port name or an object")
            continue
        for key in dep.keys() - DEPENDENCY_KEYS:
            error(at, f"unknown key {key!r}")
        if "name" not in dep:
            error(at, "has no name")
            continue
        check_identifier(f"{at}.name", dep["name"])
        names.append(dep["name"])
        for flag in ("host", "default-features"):
            if flag in dep and not isinstance(dep[flag], bool):
                error(f"{at}.{flag}", "must be true or false")
        if "platform" in dep and not isinstance(dep["platform"], str):
            error(f"{at}.platform", "must be a platform expression string")
        for j, feature in enumerate(dep.get("features", [])):
            name = feature.get("name") if isinstance(feature, dict) else feature
            check_identifier(f"{at}.features[{j}]", name)
        if list(dep) != [k for k in ["$comment", "name", "host", "version>=", "default-features", "features", "platform"] if k in dep]:
            error(at, f"keys {list(dep)} are not in vcpkg format-manifest order")
    if names != sorted(names):
        error(where, f"dependencies {names} are not sorted by name (vcpkg format-manifest order)")
    if len(set(names)) != len(names):
        error(where, "names a dependency twice")
    return names


def check(manifest):
    if not isinstance(manifest, dict):
        error("vcpkg.json", "must be a JSON object")
        return
    for key in manifest.keys() - set(KEY_ORDER):
        error("vcpkg.json", f"unknown top-level key {key!r}")
    order = [k for k in manifest if k in KEY_ORDER]
    if order != sorted(order, key=KEY_ORDER.index):
        error("vcpkg.json", f"top-level keys {order} are not in vcpkg format-manifest order")

    check_identifier("name", manifest.get("name"))
    versions = [k for k in VERSION_KEYS if k in manifest]
    if len(versions) != 1:
        error("version", f"a port has exactly one of {', '.join(VERSION_KEYS)}; found {versions or 'none'}")
    for key in versions:
        value = manifest[key]
        if not isinstance(value, str) or not value:
            error(key, "must be a non-empty string")
        elif key == "version-semver" and not SEMVER.match(value):
            error(key, f"{value!r} is not semantic versioning 2.0")
        elif key == "version" and not RELAXED.match(value):
            error(key, f"{value!r} is not a dot-separated list of numbers")
        elif key == "version-date":
            try:
                datetime.date.fromisoformat(value.split(".")[0])
            except ValueError:
                error(key, f"{value!r} is not YYYY-MM-DD[.N...]")
        elif "#" in value:
            error(key, "must not contain '#' (that is port-version)")
    if "port-version" in manifest and (type(manifest["port-version"]) is not int or manifest["port-version"] < 0):
        error("port-version", "must be a non-negative integer")
    check_text("description", manifest.get("description"), required=True)
    if "license" in manifest and manifest["license"] is not None and not (
            isinstance(manifest["license"], str) and re.match(r"^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$", manifest["license"])):
        error("license", "must be an SPDX license expression or null")
    for url in ("homepage", "documentation"):
        if url in manifest and not re.match(r"^https?://", str(manifest[url])):
            error(url, "must be an http(s) URL")
    check_dependencies("dependencies", manifest.get("dependencies", []))

    features = manifest.get("features", {})
    if not isinstance(features, dict):
        error("features", "must be an object keyed by feature name")
        features = {}
    if list(features) != sorted(features):
        error("features", f"{list(features)} are not sorted (vcpkg format-manifest order)")
    for name, feature in features.items():
        at = f"features.{name}"
        check_identifier(at, name)
        if not isinstance(feature, dict):
            error(at, "must be an object")
            continue
        for key in feature.keys() - FEATURE_KEYS:
            error(at, f"unknown key {key!r}")
        check_text(f"{at}.description", feature.get("description"), required=True)
        check_dependencies(f"{at}.dependencies", feature.get("dependencies", []))
    for i, default in enumerate(manifest.get("default-features", [])):
        name = default.get("name") if isinstance(default, dict) else default
        if name not in features:
            error(f"default-features[{i}]", f"{name!r} is not a declared feature")


def main(path):
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: {e}")
        return 1
    check(manifest)
    for e in errors:
        print(f"{path}: {e}")
    if errors:
        return 1
    print(f"{path}: {manifest['name']} {[manifest[k] for k in VERSION_KEYS if k in manifest][0]}, "
          f"features {sorted(manifest.get('features', {}))}: follows the manifest schema")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
