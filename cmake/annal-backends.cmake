# Optional backends: annal::sqlite (sqlite3), annal::postgres (libpq), annal::kafka (librdkafka) and
# annal::privacy (libsodium, for sealing personal data),
# each defined only when its client library is found, so a plain annal build never needs any.
find_package(SQLite3 QUIET)
find_package(PostgreSQL QUIET)
# librdkafka ships a pkg-config file but no CMake package on Debian.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(RDKAFKA QUIET IMPORTED_TARGET rdkafka)
  pkg_check_modules(SODIUM QUIET IMPORTED_TARGET libsodium)
endif()

set(ANNAL_BACKEND_TARGETS "")

# annal_backend(NAME FOUND LINK LIBRARY PACKAGE): the option ANNAL_WITH_<NAME>, on by default when
# the client library was found, and with it the INTERFACE target annal::<name> linking LINK.
function(annal_backend name found link library package)
  string(TOUPPER ${name} upper)
  set(default OFF)
  if(found)
    set(default ON)
  endif()
  option(ANNAL_WITH_${upper} "Provide annal::${name} (needs ${library})" ${default})
  if(NOT ANNAL_WITH_${upper})
    return()
  endif()
  if(NOT found)
    message(FATAL_ERROR "ANNAL_WITH_${upper} is ON but ${library} was not found (apt: ${package})")
  endif()
  add_library(annal_${name} INTERFACE)
  add_library(annal::${name} ALIAS annal_${name})
  set_target_properties(annal_${name} PROPERTIES EXPORT_NAME ${name})
  target_link_libraries(annal_${name} INTERFACE annal::annal ${link})
  set(ANNAL_BACKEND_TARGETS ${ANNAL_BACKEND_TARGETS} annal_${name} PARENT_SCOPE)
endfunction()

annal_backend(sqlite "${SQLite3_FOUND}" SQLite::SQLite3 sqlite3 libsqlite3-dev)
annal_backend(postgres "${PostgreSQL_FOUND}" PostgreSQL::PostgreSQL libpq libpq-dev)
annal_backend(kafka "${RDKAFKA_FOUND}" PkgConfig::RDKAFKA librdkafka librdkafka-dev)
annal_backend(privacy "${SODIUM_FOUND}" PkgConfig::SODIUM libsodium libsodium-dev)
