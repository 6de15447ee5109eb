# Conan 2 recipe: annal is header-only; its components are annal's CMake targets, one to one.
import os
import re

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"

# Each optional component: its client library's Conan requirement and the component of that
# package annal links (the names ConanCenter uses).
BACKENDS = {
    "sqlite": ("sqlite3/[>=3.40 <4]", "sqlite3::sqlite3"),
    "postgres": ("libpq/[>=15]", "libpq::pq"),
    "kafka": ("librdkafka/[>=2.0 <3]", "librdkafka::rdkafka"),
    "privacy": ("libsodium/[>=1.0.18 <2]", "libsodium::libsodium"),
}


class AnnalConan(ConanFile):
    name = "annal"
    description = "Header-only C++20 event sourcing"
    license = "BSL-1.0"
    topics = ("event-sourcing", "cqrs", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {f"with_{backend}": [True, False] for backend in BACKENDS}
    default_options = {f"with_{backend}": False for backend in BACKENDS}
    exports_sources = "include/*", "LICENSE", "cmake/annal-precompile.cmake"
    no_copy_source = True

    def set_version(self):
        # The version is the one project() declares, so the recipe cannot drift from it.
        cmake = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        self.version = re.search(r"project\(annal VERSION ([0-9.]+)", cmake).group(1)

    def layout(self):
        basic_layout(self, src_folder=".")

    def requirements(self):
        self.requires("boost/[>=1.81 <2]")
        for backend, (requirement, _) in BACKENDS.items():
            if self.options.get_safe(f"with_{backend}"):
                self.requires(requirement)

    def package_id(self):
        # The headers are the same whatever the options: one package serves every option set.
        self.info.clear()

    def validate(self):
        if self.settings.os == "Windows":
            raise ConanInvalidConfiguration("annal needs POSIX (<pthread.h>, <unistd.h>)")
        check_min_cppstd(self, "20")

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "*", os.path.join(self.source_folder, "include"),
             os.path.join(self.package_folder, "include"))
        copy(self, "annal-precompile.cmake", os.path.join(self.source_folder, "cmake"),
             os.path.join(self.package_folder, "share", "annal", "cmake"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "annal")
        # Conan's aggregate of every component that is on; annal's own CMake package has no such
        # target, so consumers link the components below.
        self.cpp_info.set_property("cmake_target_name", "annal::all")
        # Conan writes its own config file: annal_precompile_headers() comes in as a build module.
        self.cpp_info.set_property("cmake_build_modules",
                                   [os.path.join("share", "annal", "cmake", "annal-precompile.cmake")])
        core = self.cpp_info.components["annal"]
        core.set_property("cmake_target_name", "annal::annal")
        core.requires = ["boost::headers", "boost::json"]
        core.system_libs = ["pthread"]
        core.bindirs = []
        core.libdirs = []
        for backend, (_, component) in BACKENDS.items():
            if self.options.get_safe(f"with_{backend}"):
                target = self.cpp_info.components[backend]
                target.set_property("cmake_target_name", f"annal::{backend}")
                target.requires = ["annal", component]
                target.bindirs = []
                target.libdirs = []
                target.includedirs = []
