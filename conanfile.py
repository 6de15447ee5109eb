# Conan 2 recipe: annal is header-only, so the package is its headers and CMake config.
from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeToolchain, cmake_layout
from conan.tools.files import copy


class AnnalConan(ConanFile):
    name = "annal"
    version = "0.1.0"
    description = "Header-only C++20 event sourcing"
    license = "BSL-1.0"
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"with_sqlite": [True, False], "with_postgres": [True, False],
               "with_kafka": [True, False]}
    default_options = {"with_sqlite": False, "with_postgres": False, "with_kafka": False}
    exports_sources = "include/*", "CMakeLists.txt", "cmake/*"
    no_copy_source = True

    def requirements(self):
        self.requires("boost/1.81.0")
        if self.options.with_sqlite:
            self.requires("sqlite3/[>=3.40]")
        if self.options.with_postgres:
            self.requires("libpq/[>=15]")
        if self.options.with_kafka:
            self.requires("librdkafka/[>=2.0]")

    def validate(self):
        check_min_cppstd(self, "20")

    def layout(self):
        cmake_layout(self)

    def package(self):
        copy(self, "*.hpp", self.source_folder + "/include", self.package_folder + "/include")

    def package_id(self):
        self.info.clear()

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.set_property("cmake_file_name", "annal")
        self.cpp_info.set_property("cmake_target_name", "annal::annal")
        self.cpp_info.requires = ["boost::headers", "boost::json"]
