# annal_precompile_headers(): precompiles annal's heavy headers for a target (CMake's PCH support).
include_guard(GLOBAL)

# annal_precompile_headers(<target> [COMPONENTS sqlite postgres kafka privacy]): the umbrella
# <annal/annal.hpp> (core, codecs, stores, snapshots, projections, the file log) and each named
# component's headers are parsed once per target instead of once per translation unit. The target
# must link annal::annal and the components it names, whose include directories the PCH needs.
function(annal_precompile_headers target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "COMPONENTS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "annal_precompile_headers(${target}): unexpected arguments "
      "'${arg_UNPARSED_ARGUMENTS}'; write annal_precompile_headers(<target> [COMPONENTS sqlite ...])")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "annal_precompile_headers(${target}): there is no target '${target}'; "
      "call it after add_executable or add_library")
  endif()
  set(headers <annal/annal.hpp>)
  foreach(component IN LISTS arg_COMPONENTS)
    if(component STREQUAL "sqlite")
      list(APPEND headers <annal/sqlite/store.hpp> <annal/sqlite/snapshot_store.hpp>)
    elseif(component STREQUAL "postgres")
      list(APPEND headers <annal/postgres/store.hpp> <annal/postgres/snapshot_store.hpp>
        <annal/postgres/read_model.hpp>)
    elseif(component STREQUAL "kafka")
      list(APPEND headers <annal/kafka/publisher.hpp> <annal/kafka/replay.hpp>)
    elseif(component STREQUAL "privacy")
      list(APPEND headers <annal/privacy/seal.hpp> <annal/privacy/file_key_store.hpp>)
    else()
      message(FATAL_ERROR "annal_precompile_headers(${target}): annal has no component "
        "'${component}'; its components are sqlite, postgres, kafka and privacy")
    endif()
    if(NOT TARGET annal::${component})
      string(TOUPPER "${component}" upper)
      message(FATAL_ERROR "annal_precompile_headers(${target} COMPONENTS ${component}): there is no "
        "target annal::${component}; ask find_package(annal COMPONENTS ${component}) for it (or set "
        "ANNAL_WITH_${upper}=ON before add_subdirectory) and link ${target} to it")
    endif()
  endforeach()
  target_precompile_headers(${target} PRIVATE ${headers})
endfunction()
