# Test scaffolding: the Conan recipe of the user's project in docs/consuming.md.
# [conanfile-py]
from conan import ConanFile
from conan.tools.cmake import CMake, cmake_layout


class MyService(ConanFile):
    settings = "os", "arch", "compiler", "build_type"
    generators = "CMakeDeps", "CMakeToolchain"
    requires = "annal/0.1.0"
    default_options = {"annal/*:with_sqlite": True, "annal/*:with_kafka": True}

    def layout(self):
        cmake_layout(self)

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()
# [conanfile-py]
