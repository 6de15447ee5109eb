# Optional backends: annal::sqlite (sqlite3), annal::postgres (libpq), annal::kafka (librdkafka) and
# annal::privacy (libsodium, for sealing personal data). Each has a switch ANNAL_WITH_<NAME>:
#   ON   the backend is built; a missing client library stops the configure step, naming it;
#   OFF  the backend is not built and its library is not even looked for;
#   AUTO (default) built when the client library is found: handy in a checkout, never in a package
#        build (Conan and vcpkg pass ON or OFF, so a package does not depend on what is installed).
# Sets ANNAL_BACKENDS (the backends built) and, for each, ANNAL_<NAME>_VIA (how its library was
# found, so the installed annal-config.cmake can look for it the same way).

set(ANNAL_BACKENDS "")

# annal_find_<name>(): sets `link` (the target to link, empty when the library is missing) and
# `via` in the caller's scope.
macro(annal_find_sqlite)
  find_package(SQLite3 QUIET)
  if(SQLite3_FOUND)
    set(link SQLite::SQLite3)
    set(via module)
  endif()
endmacro()
macro(annal_find_postgres)
  find_package(PostgreSQL QUIET)
  if(PostgreSQL_FOUND)
    set(link PostgreSQL::PostgreSQL)
    set(via module)
  endif()
endmacro()
# librdkafka and libsodium ship CMake packages in vcpkg (RdKafka, unofficial-sodium) and only
# pkg-config files on Debian: the CMake package first, pkg-config otherwise.
macro(annal_find_config_or_pkg_config package target module prefix)
  find_package(${package} CONFIG QUIET)
  if(TARGET ${target})
    set(link ${target})
    set(via config)
  else()
    find_package(PkgConfig QUIET)
    if(PkgConfig_FOUND)
      pkg_check_modules(${prefix} QUIET IMPORTED_TARGET ${module})
    endif()
    if(${prefix}_FOUND)
      set(link PkgConfig::${prefix})
      set(via pkg-config)
    endif()
  endif()
endmacro()
macro(annal_find_kafka)
  annal_find_config_or_pkg_config(RdKafka RdKafka::rdkafka rdkafka RDKAFKA)
endmacro()
macro(annal_find_privacy)
  annal_find_config_or_pkg_config(unofficial-sodium unofficial-sodium::sodium libsodium SODIUM)
endmacro()

# annal_backend(NAME LIBRARY PACKAGE): reads ANNAL_WITH_<NAME> and, when the backend is on, defines
# the INTERFACE target annal::<name> linking the client library.
function(annal_backend name library package)
  string(TOUPPER ${name} upper)
  set(switch ANNAL_WITH_${upper})
  set(${switch} AUTO CACHE STRING "Provide annal::${name} (needs ${library}): ON, OFF or AUTO")
  set_property(CACHE ${switch} PROPERTY STRINGS ON OFF AUTO)
  string(TOUPPER "${${switch}}" value)
  if(value MATCHES "^(OFF|FALSE|NO|N|0)$")
    return()
  elseif(NOT value MATCHES "^(ON|TRUE|YES|Y|1|AUTO)$")
    message(FATAL_ERROR "${switch} is '${${switch}}'; it takes ON, OFF or AUTO")
  endif()
  set(link "")
  set(via "")
  cmake_language(CALL annal_find_${name})
  if(NOT link)
    if(value STREQUAL "AUTO")
      message(STATUS "annal: ${library} not found, annal::${name} is off (${switch}=AUTO)")
      return()
    endif()
    message(FATAL_ERROR "${switch} is ON but ${library} was not found: install it "
      "(Debian: apt-get install ${package}), point CMAKE_PREFIX_PATH at it, or set ${switch}=OFF")
  endif()
  if(value STREQUAL "AUTO")
    message(STATUS "annal: ${library} found, annal::${name} is on (${switch}=AUTO)")
  endif()
  add_library(annal_${name} INTERFACE)
  add_library(annal::${name} ALIAS annal_${name})
  set_target_properties(annal_${name} PROPERTIES EXPORT_NAME ${name})
  target_link_libraries(annal_${name} INTERFACE annal::annal ${link})
  set(ANNAL_${upper}_VIA ${via} PARENT_SCOPE)
  set(ANNAL_BACKENDS ${ANNAL_BACKENDS} ${name} PARENT_SCOPE)
endfunction()

annal_backend(sqlite sqlite3 libsqlite3-dev)
annal_backend(postgres libpq libpq-dev)
annal_backend(kafka librdkafka librdkafka-dev)
annal_backend(privacy libsodium libsodium-dev)
