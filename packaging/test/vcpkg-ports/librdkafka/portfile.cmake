# Test stand-in for vcpkg's librdkafka: Debian's librdkafka-dev (see ../system-port.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/../system-port.cmake")
annal_system_port(HEADER /usr/include/librdkafka/rdkafka.h DEBIAN librdkafka-dev)
annal_system_config(PACKAGE RdKafka TARGET RdKafka::rdkafka LIBRARY rdkafka)
