# Test scaffolding, not part of annal: the body of the overlay ports beside this file, each of which
# stands in for a vcpkg registry port (unreachable from these machines) with the library Debian
# installed. annal_system_port(HEADER <file> DEBIAN <package>) checks the library is there and
# installs Debian's copyright file; the ports of librdkafka and libsodium add the CMake packages
# vcpkg's real ports ship (RdKafka, unofficial-sodium), wrapping Debian's shared libraries.
function(annal_system_port)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "HEADER;DEBIAN" "")
  if(NOT EXISTS "${arg_HEADER}")
    message(FATAL_ERROR "${PORT} (test stand-in): ${arg_HEADER} is missing: apt-get install ${arg_DEBIAN}")
  endif()
  set(VCPKG_POLICY_EMPTY_INCLUDE_FOLDER enabled PARENT_SCOPE)
  vcpkg_install_copyright(FILE_LIST "/usr/share/doc/${arg_DEBIAN}/copyright")
endfunction()

# annal_system_config(PACKAGE <name> TARGET <target> LIBRARY <name>): a CMake package <name>
# defining the imported target <target> for Debian's lib<LIBRARY>.so.
function(annal_system_config)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "PACKAGE;TARGET;LIBRARY" "")
  string(TOLOWER "${arg_PACKAGE}" folder)
  file(WRITE "${CURRENT_PACKAGES_DIR}/share/${folder}/${arg_PACKAGE}Config.cmake" "\
# Test stand-in for vcpkg's ${PORT}: Debian's lib${arg_LIBRARY}.
find_library(_${arg_LIBRARY}_library NAMES ${arg_LIBRARY} REQUIRED)
if(NOT TARGET ${arg_TARGET})
  add_library(${arg_TARGET} SHARED IMPORTED)
  set_target_properties(${arg_TARGET} PROPERTIES IMPORTED_LOCATION \"\${_${arg_LIBRARY}_library}\")
endif()
")
endfunction()
