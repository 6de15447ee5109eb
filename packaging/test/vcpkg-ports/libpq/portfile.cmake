# Test stand-in for vcpkg's libpq: Debian's libpq-dev (see ../system-port.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/../system-port.cmake")
annal_system_port(HEADER /usr/include/postgresql/libpq-fe.h DEBIAN libpq-dev)
