# annal_precompile_headers(): a two-file program builds with the PCH and runs, against the
# installed package and with add_subdirectory; a misspelt component stops the configure step with
# a message naming it. Inputs: SOURCE, WORK, GENERATOR.
include(${CMAKE_CURRENT_LIST_DIR}/run.cmake)
# built_with_pch(DIR): the program was built with a precompiled header, and runs.
macro(built_with_pch dir)
  file(GLOB_RECURSE pch ${dir}/*.gch ${dir}/*.pch)
  if(NOT pch)
    message(FATAL_ERROR "no precompiled header under ${dir}")
  endif()
  run(${dir}/ledger)
endmacro()
set(project ${SOURCE}/tests/package/pch)
set(quiet -DANNAL_BUILD_TESTS=OFF -DANNAL_BUILD_EXAMPLES=OFF -DANNAL_BUILD_BENCH=OFF)

run(${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/annal -G ${GENERATOR} ${quiet} -DANNAL_INSTALL=ON
    -DANNAL_WITH_SQLITE=ON -DCMAKE_INSTALL_PREFIX=${WORK}/prefix)
run(${CMAKE_COMMAND} --install ${WORK}/annal)
run(${CMAKE_COMMAND} -S ${project} -B ${WORK}/installed -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${WORK}/prefix)
run(${CMAKE_COMMAND} --build ${WORK}/installed)
built_with_pch(${WORK}/installed)

run(${CMAKE_COMMAND} -S ${project} -B ${WORK}/sub -G ${GENERATOR} -DANNAL_SOURCE_DIR=${SOURCE} ${quiet})
run(${CMAKE_COMMAND} --build ${WORK}/sub)
built_with_pch(${WORK}/sub)

# A component annal does not have: the configure step fails and says which.
file(WRITE ${WORK}/typo/CMakeLists.txt
  "cmake_minimum_required(VERSION 3.21)\nproject(typo LANGUAGES CXX)\n"
  "find_package(annal REQUIRED)\nadd_executable(p main.cpp)\n"
  "target_link_libraries(p PRIVATE annal::annal)\nannal_precompile_headers(p COMPONENTS sqlit)\n")
file(WRITE ${WORK}/typo/main.cpp "int main() {}\n")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${WORK}/typo -B ${WORK}/typo/build -G ${GENERATOR}
                -DCMAKE_PREFIX_PATH=${WORK}/prefix RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0 OR NOT out MATCHES "annal has no component 'sqlit'")
  message(FATAL_ERROR "a misspelt component was not reported:\n${out}")
endif()
message(STATUS "the PCH helper builds a program from the installed package and from a subdirectory")
