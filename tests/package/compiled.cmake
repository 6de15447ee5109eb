# annal_add_compiled_library(): a two-file program in the separately compiled mode builds and runs,
# against the installed package and with add_subdirectory; its translation units hold none of the
# file log's machinery, which the library holds once. Inputs: SOURCE, WORK, GENERATOR.
cmake_minimum_required(VERSION 3.21)
include(${CMAKE_CURRENT_LIST_DIR}/run.cmake)
# separately_compiled(DIR): the program runs, and the file log's recovery (basic_file_log::open) is
# defined in the library and only referenced by the program's own objects.
macro(separately_compiled dir)
  run(${dir}/journal ${dir}/data)
  file(GLOB_RECURSE objects ${dir}/CMakeFiles/journal.dir/*.o)
  file(GLOB_RECURSE library ${dir}/*annal_compiled.a)
  if(NOT objects OR NOT library)
    message(FATAL_ERROR "no objects or no libannal_compiled.a under ${dir}")
  endif()
  foreach(object IN LISTS objects library)
    run(nm -C ${object})
    string(REGEX MATCHALL "[^\n]*basic_file_log<annal::posix_io>::open\\(\\)[^\n]*" lines "${out}")
    set(defined FALSE)
    foreach(line IN LISTS lines)
      if(line MATCHES " [TW] ")
        set(defined TRUE)
      endif()
    endforeach()
    if(object IN_LIST library AND NOT defined)
      message(FATAL_ERROR "${object} does not define basic_file_log::open()")
    elseif(NOT object IN_LIST library AND defined)
      message(FATAL_ERROR "${object} compiled the file log's recovery again:\n${lines}")
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
