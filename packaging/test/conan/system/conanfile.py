# Test scaffolding, not part of annal: stands in for a ConanCenter package (which these machines
# cannot reach) by describing the library Debian installed, under ConanCenter's name, components
# and CMake target names. Exported once per library by packaging/check.sh:
#   conan export packaging/test/conan/system --name sqlite3 --version 3.40.1
import os

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration

# name: (Debian package, a header it installs, {component: (system libs, CMake target, requires)}
#        or the system libs of a package without components, CMake file name, root CMake target,
#        include directories beyond /usr/include)
LIBRARIES = {
    "boost": ("libboost-json1.81-dev", "/usr/include/boost/json.hpp",
              {"headers": ([], "Boost::headers", []),
               "json": (["boost_json"], "Boost::json", ["headers"])},
              "Boost", "Boost::boost", []),
    "sqlite3": ("libsqlite3-dev", "/usr/include/sqlite3.h",
                ["sqlite3"],
                "SQLite3", "SQLite::SQLite3", []),
    "libpq": ("libpq-dev", "/usr/include/postgresql/libpq-fe.h",
              {"pq": (["pq"], "libpq::pq", [])},
              "PostgreSQL", "PostgreSQL::PostgreSQL", ["/usr/include/postgresql"]),
    "librdkafka": ("librdkafka-dev", "/usr/include/librdkafka/rdkafka.h",
                   {"rdkafka": (["rdkafka"], "RdKafka::rdkafka", [])},
                   "RdKafka", "RdKafka::rdkafka_all", []),
    "libsodium": ("libsodium-dev", "/usr/include/sodium.h",
                  ["sodium"], "libsodium", "libsodium::libsodium", []),
}


class SystemLibraryConan(ConanFile):
    description = "Test scaffolding: a Debian library described to Conan"
    settings = "os", "arch", "compiler", "build_type"
    package_type = "shared-library"

    def validate(self):
        if self.name not in LIBRARIES:
            raise ConanInvalidConfiguration(f"no system library is described as '{self.name}'")
        debian, header = LIBRARIES[self.name][:2]
        if not os.path.exists(header):
            raise ConanInvalidConfiguration(f"{header} is missing: apt-get install {debian}")

    def package_id(self):
        self.info.clear()

    def package_info(self):
        _, _, components, file_name, root_target, includedirs = LIBRARIES[self.name]
        self.cpp_info.set_property("cmake_file_name", file_name)
        self.cpp_info.set_property("cmake_target_name", root_target)
        self.cpp_info.set_property("cmake_find_mode", "both")
        self.cpp_info.includedirs = includedirs
        self.cpp_info.libdirs = []
        self.cpp_info.bindirs = []
        if isinstance(components, list):
            self.cpp_info.system_libs = components
            return
        for name, (system_libs, target, requires) in components.items():
            component = self.cpp_info.components[name]
            component.set_property("cmake_target_name", target)
            component.system_libs = system_libs
            component.requires = requires
            component.includedirs = includedirs
            component.libdirs = []
            component.bindirs = []
