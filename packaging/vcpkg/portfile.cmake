# vcpkg port for annal, installed as an overlay from the checkout it sits in:
#   vcpkg install "annal[sqlite,kafka]" --overlay-ports=<checkout>/packaging/vcpkg
# The sources are that checkout (two folders up). A registry submission would take them from a
# release instead: vcpkg_from_github(OUT_SOURCE_PATH SOURCE_PATH REPO <owner>/annal REF v${VERSION}
# SHA512 ...). vcpkg does not hash sources outside the port: after changing the checkout, remove
# the installed port (vcpkg remove annal) or pass --no-binarycaching.
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
if(NOT EXISTS "${SOURCE_PATH}/include/annal/annal.hpp")
  message(FATAL_ERROR "annal's port expects annal's sources at ${SOURCE_PATH}")
endif()

# Header-only: one configuration is enough, and there is no binary whose RPATH needs fixing.
set(VCPKG_BUILD_TYPE release)
set(VCPKG_FIXUP_ELF_RPATH OFF)

# Each feature switches its backend explicitly, so the port never depends on what else is installed.
vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    sqlite ANNAL_WITH_SQLITE
    postgres ANNAL_WITH_POSTGRES
    kafka ANNAL_WITH_KAFKA
    privacy ANNAL_WITH_PRIVACY)

vcpkg_cmake_configure(SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS ${FEATURE_OPTIONS} -DANNAL_BUILD_TESTS=OFF -DANNAL_BUILD_EXAMPLES=OFF
    -DANNAL_BUILD_BENCH=OFF -DANNAL_BUILD_TOOL=OFF -DANNAL_INSTALL=ON)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME annal CONFIG_PATH share/annal/cmake)

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
