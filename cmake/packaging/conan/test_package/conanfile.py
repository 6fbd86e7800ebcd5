# SPDX-License-Identifier: Apache-2.0
"""Conan test package: builds a program against the starbucks package through CMakeDeps and runs
it. The program embeds one sentence (tokenizer + a small randomly initialised BERT encoder), and
multiplies on each backend the options enabled (with_onednn, with_eigen)."""
import os

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout


class StarbucksTestConan(ConanFile):
    settings = "os", "arch", "compiler", "build_type"
    test_type = "explicit"

    def requirements(self):
        self.requires(self.tested_reference_str)

    def layout(self):
        cmake_layout(self)

    def generate(self):
        options = self.dependencies["starbucks"].options
        tc = CMakeToolchain(self)
        tc.cache_variables["TEST_WITH_TEXT"] = bool(options.with_text)
        tc.cache_variables["TEST_WITH_ONEDNN"] = bool(options.with_onednn)
        tc.cache_variables["TEST_WITH_EIGEN"] = bool(options.with_eigen)
        tc.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def test(self):
        if can_run(self):
            self.run(os.path.join(self.cpp.build.bindir, "test_package"), env="conanrun")
