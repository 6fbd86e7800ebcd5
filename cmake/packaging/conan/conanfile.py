# SPDX-License-Identifier: Apache-2.0
"""Conan 2 recipe of starbucks: the header-only library as CMake-like components, and with
`tools` the starbucks executable.

    conan create cmake/packaging/conan -pr:a cmake/packaging/conan/profiles/debian12 -o "starbucks/*:with_onednn=True"

The recipe builds the checkout it lives in (three folders up). Its version must equal
project(VERSION) in CMakeLists.txt; tests/package/check_versions.py fails when they differ.
"""
import os
import shutil

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, rmdir

required_conan_version = ">=2.0.5"


class StarbucksConan(ConanFile):
    name = "starbucks"
    version = "0.1.0"
    description = "Header-only C++20 library for 2D Matryoshka text embeddings with the Starbucks method"
    license = "Apache-2.0"
    topics = ("embeddings", "matryoshka", "bert", "autograd", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {
        "with_text": [True, False],    # starbucks::text, the WordPiece tokenizer (utf8proc)
        "with_eigen": [True, False],   # starbucks::cpu_eigen
        "with_onednn": [True, False],  # starbucks::cpu_onednn
        "with_cuda": [True, False],    # starbucks::cuda (a CUDA toolkit on the machine)
        "with_mpi": [True, False],     # starbucks::mpi (the machine's MPI, e.g. Debian's libopenmpi-dev)
        "tools": [True, False],        # bin/starbucks
    }
    default_options = {"with_text": True, "with_eigen": False, "with_onednn": False, "with_cuda": False, "with_mpi": False, "tools": False}
    no_copy_source = True

    # Everything CMake reads to configure and install; examples/ only for the executable.
    _sources = ("CMakeLists.txt", "LICENSE", "cmake/*.cmake", "cmake/*.in", "include/*",
                "examples/CMakeLists.txt", "examples/starbucks/*", "examples/ngram_sts/*")

    def export_sources(self):
        root = os.path.join(self.recipe_folder, "..", "..", "..")
        for pattern in self._sources:
            copy(self, pattern, src=root, dst=self.export_sources_folder, excludes=("cmake/packaging/*",))

    def configure(self):
        if self.options.tools:
            # Headers plus a program built for these settings: no longer header-only.
            self.package_type = "unknown"

    def layout(self):
        cmake_layout(self, src_folder=".")

    def requirements(self):
        self.requires("nlohmann_json/[>=3.10 <4]", transitive_headers=True)
        if self.options.with_text:
            self.requires("utf8proc/[>=2.6 <3]", transitive_headers=True, transitive_libs=True)
        if self.options.with_eigen:
            self.requires("eigen/[>=3.4 <4]", transitive_headers=True)
        if self.options.with_onednn:
            self.requires("onednn/[>=2.6 <4]", transitive_headers=True, transitive_libs=True)
        if self.options.tools:
            self.requires("cli11/[>=2.1 <3]", visible=False)

    def package_id(self):
        if self.info.options.tools:
            return  # the executable depends on every setting
        # Header-only: no setting or dependency version changes the packaged files, and of the
        # options only with_text does (text/ headers come with starbucks::text); the backend
        # options change package_info() alone, which is computed for each consumer.
        self.info.settings.clear()
        self.info.requires.clear()
        del self.info.options.with_eigen
        del self.info.options.with_onednn
        del self.info.options.with_cuda
        del self.info.options.with_mpi

    def _cuda_toolkit(self):
        """nvcc of the CUDA toolkit CMake would find: under CUDA_PATH when it is set (and only
        there, so it can also say "none"), else under CUDA_HOME or /usr/local/cuda, else on PATH."""
        if os.environ.get("CUDA_PATH") is not None:
            roots = [os.environ["CUDA_PATH"]]
        else:
            roots = [r for r in (os.environ.get("CUDA_HOME"), "/usr/local/cuda") if r]
        for root in roots:
            if os.path.isfile(os.path.join(root, "bin", "nvcc")):
                return os.path.join(root, "bin", "nvcc")
        return None if os.environ.get("CUDA_PATH") is not None else shutil.which("nvcc")

    def validate(self):
        if self.settings.get_safe("compiler.cppstd"):
            check_min_cppstd(self, 20)
        if self.options.tools and not self.options.with_text:
            raise ConanInvalidConfiguration(
                "starbucks: tools=True needs with_text=True (the starbucks executable tokenizes with starbucks::text)")
        if self.options.with_cuda and not self._cuda_toolkit():
            raise ConanInvalidConfiguration(
                "starbucks: with_cuda=True needs a CUDA toolkit, and none was found (no nvcc under $CUDA_PATH if set, "
                "else $CUDA_HOME, /usr/local/cuda or PATH); install one or set with_cuda=False")

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["STARBUCKS_WITH_TEXT"] = bool(self.options.with_text)
        tc.cache_variables["STARBUCKS_WITH_EIGEN"] = bool(self.options.with_eigen)
        tc.cache_variables["STARBUCKS_WITH_ONEDNN"] = bool(self.options.with_onednn)
        tc.cache_variables["STARBUCKS_WITH_CUDA"] = bool(self.options.with_cuda)
        tc.cache_variables["STARBUCKS_WITH_MPI"] = bool(self.options.with_mpi)
        tc.cache_variables["STARBUCKS_BUILD_EXAMPLES"] = bool(self.options.tools)
        tc.cache_variables["STARBUCKS_BUILD_TESTS"] = False
        tc.cache_variables["STARBUCKS_BUILD_BENCHMARKS"] = False
        tc.cache_variables["STARBUCKS_BUILD_DOCS"] = False
        tc.cache_variables["STARBUCKS_INSTALL"] = True
        tc.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        if self.options.tools:
            cmake.build(target="starbucks_cli")

    def package(self):
        copy(self, "LICENSE", src=self.source_folder, dst=os.path.join(self.package_folder, "licenses"))
        CMake(self).install()
        # Consumers get CMake and pkg-config files from Conan's generators, built from package_info().
        rmdir(self, os.path.join(self.package_folder, "share"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "starbucks")
        self.cpp_info.set_property("cmake_target_name", "starbucks::starbucks")
        self.cpp_info.set_property("pkg_config_name", "starbucks")
        openmp = ["-fopenmp"] if self.settings.get_safe("compiler") in ("gcc", "clang") else []

        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "starbucks::core")
        core.libdirs = []
        core.bindirs = ["bin"] if self.options.tools else []
        self._uses(core, "nlohmann_json")

        def component(name, macro, dependency=None, system_lib=None, flags=()):
            c = self.cpp_info.components[name]
            c.set_property("cmake_target_name", f"starbucks::{name}")
            c.requires = ["core"]
            c.defines = [f"STARBUCKS_WITH_{macro}=1"]
            c.cxxflags = list(flags)
            c.sharedlinkflags = list(flags)
            c.exelinkflags = list(flags)
            c.libdirs = []
            c.bindirs = []
            if dependency:
                self._uses(c, dependency, system_lib)
            return c

        if self.options.with_text:
            component("text", "TEXT", "utf8proc", "utf8proc")
        if self.options.with_eigen:
            component("cpu_eigen", "EIGEN", "eigen", None, openmp)
        if self.options.with_onednn:
            component("cpu_onednn", "ONEDNN", "onednn", "dnnl", openmp)
        if self.options.with_cuda:
            component("cuda", "CUDA").system_libs = ["cudart", "cublas", "cublasLt"]
        if self.options.with_mpi:
            # The system MPI, as the CUDA toolkit: consumers also find_package(MPI) or build with mpicxx.
            component("mpi", "MPI").system_libs = ["mpi"]

    def _uses(self, component, dependency, system_lib=None):
        """Links `dependency` into `component`: its Conan package when Conan provides one; when a
        profile's [platform_requires] declares it (no Conan package in the graph), the system's
        copy, by library name (headers are on the default include path)."""
        if dependency in self.dependencies:
            component.requires.append(f"{dependency}::{dependency}")
        elif system_lib:
            component.system_libs.append(system_lib)
