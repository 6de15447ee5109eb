# annal_add_compiled_library(): a two-file program in the separately compiled mode builds and runs,
# against the installed package and with add_subdirectory; its translation units hold none of the
# file log's machinery, which the library holds once. Inputs: SOURCE, WORK, GENERATOR.
cmake_minimum_required(VERSION 3.21)
include(${CMAKE_CURRENT_LIST_DIR}/run.cmake)
# separately_compiled(DIR): the program runs, and annal's code that does not depend on the program's
# types is defined in the library and only referenced by the program's own objects: the file log's
# recovery (basic_file_log::open), the memory store's append, the checks every store runs and the
# messages of decoding errors.
set(compiled_once
  "basic_file_log<annal::posix_io>::open\\(\\)"
  "annal::memory_store::append(<void>)?\\("
  "annal::detail::validate_stream_id(<void>)?\\("
  "annal::detail::describe_record(<void>)?(\\[abi:cxx11\\])?\\("
  "annal::detail::throw_decode_error(<void>)?\\("
  "annal::detail::field_path::str(<void>)?(\\[abi:cxx11\\])?\\(")
# Instantiated once per aggregate, not once per event type: a decision's vector of events grows
# through one function whatever event it is given.
set(per_aggregate "_M_realloc_insert<journal::written>")
macro(separately_compiled dir)
  run(${dir}/journal ${dir}/data)
  file(GLOB_RECURSE objects ${dir}/CMakeFiles/journal.dir/*.o)
  file(GLOB_RECURSE library ${dir}/*annal_compiled.a)
  if(NOT objects OR NOT library)
    message(FATAL_ERROR "no objects or no libannal_compiled.a under ${dir}")
  endif()
  foreach(object IN LISTS objects library)
    run(nm -C ${object})
    foreach(symbol IN LISTS compiled_once)
      string(REGEX MATCHALL "[^\n]*${symbol}[^\n]*" lines "${out}")
      set(defined FALSE)
      foreach(line IN LISTS lines)
        if(line MATCHES " [TW] ")
          set(defined TRUE)
        endif()
      endforeach()
      if(object IN_LIST library AND NOT defined)
        message(FATAL_ERROR "${object} does not define ${symbol}")
      elseif(NOT object IN_LIST library AND defined)
        message(FATAL_ERROR "${object} compiled ${symbol} again:\n${lines}")
      endif()
    endforeach()
    if(out MATCHES "[^\n]* [TW] [^\n]*${per_aggregate}[^\n]*")
      message(FATAL_ERROR "${object} instantiates a decision's growth per event type:\n${CMAKE_MATCH_0}")
    endif()
  endforeach()
endmacro()
set(project ${SOURCE}/tests/package/compiled)
set(quiet -DANNAL_BUILD_TESTS=OFF -DANNAL_BUILD_EXAMPLES=OFF -DANNAL_BUILD_BENCH=OFF)

run(${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/annal -G ${GENERATOR} ${quiet} -DANNAL_INSTALL=ON
    -DCMAKE_INSTALL_PREFIX=${WORK}/prefix)
run(${CMAKE_COMMAND} --install ${WORK}/annal)
run(${CMAKE_COMMAND} -S ${project} -B ${WORK}/installed -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${WORK}/prefix)
run(${CMAKE_COMMAND} --build ${WORK}/installed)
separately_compiled(${WORK}/installed)

run(${CMAKE_COMMAND} -S ${project} -B ${WORK}/sub -G ${GENERATOR} -DANNAL_SOURCE_DIR=${SOURCE} ${quiet})
run(${CMAKE_COMMAND} --build ${WORK}/sub)
separately_compiled(${WORK}/sub)
message(STATUS "the separately compiled mode builds a program from the installed package and from a subdirectory")
