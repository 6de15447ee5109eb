# Fails when a header includes a layer above its own (docs/design.md draws the layers). Each header
# belongs to the first layer whose pattern matches its path under include/annal/; each layer lists
# the layers its headers may include. Run: cmake -DINCLUDE_DIR=<repo>/include -P check_layers.cmake
cmake_minimum_required(VERSION 3.21)
if(NOT INCLUDE_DIR)
  message(FATAL_ERROR "usage: cmake -DINCLUDE_DIR=<repo>/include -P check_layers.cmake")
endif()

# layer: path patterns (regexes over the path below include/annal/), in the order they are tried.
set(patterns
  "umbrella:^(annal|fwd)[.]hpp$"
  "file:^file/"
  "sqlite:^sqlite/"
  "postgres:^postgres/"
  "core:^core/"
  "detail:^detail/"
  "codec:^codec/"
  "command:^store/repository[.]hpp$"
  "store:^store/"
  "snapshot:^snapshot/"
  "projection:^projection/"
  "kafka:^kafka/"
  "privacy:^privacy/"
  "testing:^testing/")

# layer: the layers it may include (its own included).
set(below_core "core")
set(below_detail "core;detail")
set(below_codec "core;detail;codec")
set(below_store "core;detail;codec;store")
set(below_snapshot "${below_store};snapshot")
set(below_projection "${below_store};projection")
set(below_command "${below_store};snapshot;command")
set(read_side "${below_store};snapshot;projection")
set(below_file "${read_side};file")
set(below_sqlite "${read_side};sqlite")
set(below_postgres "${read_side};postgres")
set(below_kafka "${below_store};kafka")
set(below_privacy "${below_codec};store;privacy")
set(below_testing "${read_side};command;testing")
set(below_umbrella "${read_side};command;file;sqlite;postgres;kafka;privacy;testing;umbrella")

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
set(unplaced "")
set(edges 0)
foreach(header IN LISTS headers)
  layer_of("${header}" from)
  if(NOT from)
    list(APPEND unplaced "${header}")
    continue()
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
if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "headers that include a layer above their own:\n  ${text}")
endif()
list(LENGTH headers count)
message(STATUS "layering: ${count} headers, ${edges} includes, all pointing down")
