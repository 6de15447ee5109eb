# Fails when a header includes a layer above its own (docs/design.md draws the layers), or when a
# header of a pure layer (core/, fwd.hpp) includes a system or I/O header. Each header belongs to the
# first layer whose pattern matches its path under include/annal/; each layer lists the layers its
# headers may include. Run: cmake -DINCLUDE_DIR=<repo>/include -P check_layers.cmake
cmake_minimum_required(VERSION 3.21)
if(NOT INCLUDE_DIR)
  message(FATAL_ERROR "usage: cmake -DINCLUDE_DIR=<repo>/include -P check_layers.cmake")
endif()

# layer: path patterns (regexes over the path below include/annal/), in the order they are tried.
set(patterns
  "fwd:^fwd[.]hpp$"
  "umbrella:^(annal|fwd|src)[.]hpp$"
  "file:^file/"
  "sqlite:^sqlite/"
  "postgres:^postgres/"
  "core:^core/"
  "runtime:^runtime/"
  "detail:^detail/"
  "codec:^codec/"
  "command:^store/repository[.]hpp$"
  "store:^store/"
  "snapshot:^snapshot/"
  "projection:^projection/"
  "process:^process/"
  "kafka:^kafka/"
  "privacy:^privacy/"
  "testing:^testing/"
  "tool:^tool([.]hpp$|/)")

# layer: the layers it may include (its own included). fwd.hpp includes no annal header, and every
# header may include it: the defining header of a class template with a default argument must.
set(below_fwd "")
set(below_core "fwd;core")
set(below_runtime "${below_core};runtime")
set(below_detail "${below_runtime};detail")
set(below_codec "${below_detail};codec")
set(below_store "${below_codec};store")
set(below_snapshot "${below_store};snapshot")
set(below_projection "${below_store};projection")
set(below_command "${below_store};snapshot;command")
set(read_side "${below_store};snapshot;projection")
set(below_file "${read_side};file")
set(below_sqlite "${read_side};sqlite")
set(below_postgres "${read_side};postgres")
# Consumer-group projections (kafka/group_projector.hpp) run a projection into its read models.
set(below_kafka "${read_side};kafka")
set(below_privacy "${below_codec};store;privacy")
# Process managers send commands (through repositories) in answer to what they read.
set(below_process "${read_side};command;process")
set(below_testing "${read_side};command;process;testing")
# The operator's tool (<annal/tool.hpp>) sits on top: it opens every store, reads Kafka topics and
# runs projections.
set(below_tool "${read_side};command;file;sqlite;postgres;kafka;tool")
set(below_umbrella
  "${read_side};command;process;file;sqlite;postgres;kafka;privacy;testing;umbrella")

# Pure layers hold vocabulary only: no operating-system call and no I/O, so including them never
# drags in a system header (docs/design.md). These are the standard and system headers that would.
set(pure_layers "fwd;core")
set(impure_header_regex "^#include <(unistd[.]h|pthread[.]h|fcntl[.]h|sys/[^>]*|stdio[.]h|cstdio|iostream|fstream)>")

# Known edges that break the rule, each with why it is still here; the list only shrinks.
set(known_exceptions "")

function(layer_of path out)
  foreach(entry IN LISTS patterns)
    string(FIND "${entry}" ":" colon)
    string(SUBSTRING "${entry}" 0 ${colon} layer)
    math(EXPR start "${colon} + 1")
    string(SUBSTRING "${entry}" ${start} -1 regex)
    if(path MATCHES "${regex}")
      set(${out} ${layer} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} "" PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR}/annal ${INCLUDE_DIR}/annal/*.hpp)
set(violations "")
set(impure "")
set(unplaced "")
set(edges 0)
foreach(header IN LISTS headers)
  layer_of("${header}" from)
  if(NOT from)
    list(APPEND unplaced "${header}")
    continue()
  endif()
  if(from IN_LIST pure_layers)
    file(STRINGS ${INCLUDE_DIR}/annal/${header} system_includes REGEX "${impure_header_regex}")
    foreach(line IN LISTS system_includes)
      string(REGEX REPLACE "^#include (<[^>]*>).*" "\\1" target "${line}")
      list(APPEND impure "${header} (${from}) includes ${target}")
    endforeach()
  endif()
  file(STRINGS ${INCLUDE_DIR}/annal/${header} includes REGEX "^#include <annal/")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^#include <annal/([^>]*)>.*" "\\1" target "${line}")
    math(EXPR edges "${edges} + 1")
    layer_of("${target}" to)
    if(NOT to IN_LIST below_${from} AND NOT "${header} -> ${target}" IN_LIST known_exceptions)
      list(APPEND violations "${header} (${from}) includes ${target} (${to})")
    endif()
  endforeach()
endforeach()

if(unplaced)
  list(JOIN unplaced "\n  " text)
  message(FATAL_ERROR "headers in no layer (add a pattern to check_layers.cmake):\n  ${text}")
endif()
# Both kinds of fault are reported together, so one run names every header to fix.
set(faults "")
if(violations)
  list(JOIN violations "\n  " text)
  string(APPEND faults "headers that include a layer above their own:\n  ${text}\n")
endif()
if(impure)
  list(JOIN impure "\n  " text)
  string(APPEND faults "headers of a pure layer that include a system or I/O header (move what "
                       "needs it to runtime/ or higher):\n  ${text}\n")
endif()
if(faults)
  message(FATAL_ERROR "${faults}")
endif()
list(LENGTH headers count)
message(STATUS "layering: ${count} headers, ${edges} includes, all pointing down")
