# Test stand-in for vcpkg's boost-hana: Debian's libboost1.81-dev (see ../system-port.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/../system-port.cmake")
annal_system_port(HEADER /usr/include/boost/hana.hpp DEBIAN libboost1.81-dev)
