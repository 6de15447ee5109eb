# Test stand-in for vcpkg's libsodium: Debian's libsodium-dev (see ../system-port.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/../system-port.cmake")
annal_system_port(HEADER /usr/include/sodium.h DEBIAN libsodium-dev)
annal_system_config(PACKAGE unofficial-sodium TARGET unofficial-sodium::sodium LIBRARY sodium)
