# vcpkg port for annal (an overlay port: vcpkg install annal --overlay-ports=packaging/vcpkg).
vcpkg_from_git(OUT_SOURCE_PATH SOURCE_PATH URL "${ANNAL_GIT_URL}" REF "${ANNAL_GIT_REF}")
vcpkg_cmake_configure(SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS -DANNAL_BUILD_TESTS=OFF -DANNAL_BUILD_EXAMPLES=OFF -DANNAL_BUILD_BENCH=OFF -DANNAL_INSTALL=ON)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME annal CONFIG_PATH share/annal/cmake)
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug")
file(INSTALL "${SOURCE_PATH}/LICENSE" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}" RENAME copyright)
