#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One version: project(VERSION) in CMakeLists.txt is the source; every other place that states
the version must say the same, or this check fails naming each place and what it says.

usage: check_versions.py SOURCE_DIR BUILD_DIR [STARBUCKS_EXECUTABLE]
(an empty STARBUCKS_EXECUTABLE means the build has none)
"""
import ast
import json
import pathlib
import re
import subprocess
import sys


def read(path):
    return pathlib.Path(path).read_text(encoding="utf-8")


def match(pattern, text, what):
    m = re.search(pattern, text, re.MULTILINE)
    if not m:
        raise ValueError(f"no {what}")
    return m.group(1)


def from_version_hpp(src):
    text = read(src / "include/starbucks/version.hpp")
    parts = [match(rf"^#define STARBUCKS_VERSION_{p} (\d+)$", text, f"STARBUCKS_VERSION_{p}") for p in ("MAJOR", "MINOR", "PATCH")]
    string = match(r'^#define STARBUCKS_VERSION_STRING "([^"]+)"$', text, "STARBUCKS_VERSION_STRING")
    joined = ".".join(parts)
    return string if joined == string else f"{string} (but MAJOR.MINOR.PATCH = {joined})"


def from_conanfile(src):
    tree = ast.parse(read(src / "cmake/packaging/conan/conanfile.py"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "version" for t in stmt.targets)
                        and isinstance(stmt.value, ast.Constant)):
                    return str(stmt.value.value)
    raise ValueError("no class attribute `version`")


def from_vcpkg_json(src):
    manifest = json.loads(read(src / "cmake/packaging/vcpkg/ports/starbucks/vcpkg.json"))
    for key in ("version-semver", "version", "version-string", "version-date"):
        if key in manifest:
            return manifest[key]
    raise ValueError("no version field")


def from_changelog(src):
    # The newest release: the first `## [x.y.z] - YYYY-MM-DD` heading (Unreleased is not one).
    return match(r"^## \[(\d+\.\d+\.\d+[^\]]*)\] - \d{4}-\d{2}-\d{2}$", read(src / "CHANGELOG.md"), "release heading")


def from_executable(exe):
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    return match(r"^starbucks (\S+)$", out, "'starbucks X.Y.Z' line in --version")


def main(src, build, exe=None):
    src, build = pathlib.Path(src), pathlib.Path(build)
    expected = match(r"project\(starbucks\s+VERSION\s+(\d+\.\d+\.\d+)", read(src / "CMakeLists.txt"), "project(VERSION)")
    places = {
        "include/starbucks/version.hpp": lambda: from_version_hpp(src),
        "CMake package version file (starbucksConfigVersion.cmake)":
            lambda: match(r'^set\(PACKAGE_VERSION "([^"]+)"\)', read(build / "starbucksConfigVersion.cmake"), "PACKAGE_VERSION"),
        "pkg-config file (starbucks.pc)": lambda: match(r"^Version: (\S+)$", read(build / "starbucks.pc"), "Version:"),
        "Conan recipe (cmake/packaging/conan/conanfile.py)": lambda: from_conanfile(src),
        "vcpkg manifest (cmake/packaging/vcpkg/ports/starbucks/vcpkg.json)": lambda: from_vcpkg_json(src),
        "CHANGELOG.md, newest release": lambda: from_changelog(src),
    }
    if exe:
        places["starbucks --version"] = lambda: from_executable(exe)
    failed = False
    print(f"project(VERSION) in CMakeLists.txt: {expected}")
    for place, get in places.items():
        try:
            got = get()
        except (OSError, ValueError, subprocess.CalledProcessError) as e:
            got, ok = f"unreadable: {e}", False
        else:
            ok = got == expected
        failed |= not ok
        print(f"{'ok  ' if ok else 'DIFF'} {place}: {got}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
