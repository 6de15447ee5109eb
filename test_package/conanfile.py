# Conan test_package: builds and runs a consumer of annal::annal and of every component that is on.
import os

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, CMakeToolchain, cmake_layout

BACKENDS = ("sqlite", "postgres", "kafka", "privacy")


class AnnalTestConan(ConanFile):
    settings = "os", "arch", "compiler", "build_type"
    generators = "CMakeDeps", "VirtualRunEnv"
    test_type = "explicit"

    def requirements(self):
        self.requires(self.tested_reference_str)

    def layout(self):
        cmake_layout(self)

    def _backends_on(self):
        options = self.dependencies["annal"].options
        return [b for b in BACKENDS if options.get_safe(f"with_{b}")]

    def generate(self):
        toolchain = CMakeToolchain(self)
        toolchain.variables["ANNAL_TEST_COMPONENTS"] = ";".join(self._backends_on())
        toolchain.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def test(self):
        if not can_run(self):
            return
        for program in ["annal"] + self._backends_on():
            self.output.info(f"running the consumer of annal::{program}")
            self.run(os.path.join(self.cpp.build.bindir, f"test_{program}"), env="conanrun")
