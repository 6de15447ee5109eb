# Test stand-in for vcpkg's boost-json: Debian's libboost-json1.81-dev (see ../system-port.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/../system-port.cmake")
annal_system_port(HEADER /usr/include/boost/json.hpp DEBIAN libboost-json1.81-dev)
