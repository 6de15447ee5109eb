# Test stand-in for vcpkg's sqlite3: Debian's libsqlite3-dev (see ../system-port.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/../system-port.cmake")
annal_system_port(HEADER /usr/include/sqlite3.h DEBIAN libsqlite3-dev)
