# Installs annal into a fresh prefix, then configures, builds and runs a consumer project against
# it with find_package — and once more with add_subdirectory. Inputs: SOURCE, WORK, GENERATOR.
file(REMOVE_RECURSE ${WORK})
macro(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
endmacro()
run(${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/annal-build -G ${GENERATOR} -DANNAL_BUILD_TESTS=OFF
    -DANNAL_BUILD_EXAMPLES=OFF -DANNAL_BUILD_BENCH=OFF -DANNAL_INSTALL=ON
    -DCMAKE_INSTALL_PREFIX=${WORK}/prefix)
run(${CMAKE_COMMAND} --install ${WORK}/annal-build)
run(${CMAKE_COMMAND} -S ${SOURCE}/tests/package/consumer -B ${WORK}/found -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${WORK}/prefix)
run(${CMAKE_COMMAND} --build ${WORK}/found)
run(${WORK}/found/consumer)
if(EXISTS ${WORK}/found/consumer_kafka)
  run(${WORK}/found/consumer_kafka)
endif()
if(EXISTS ${WORK}/found/consumer_privacy)
  run(${WORK}/found/consumer_privacy)
endif()
run(${CMAKE_COMMAND} -S ${SOURCE}/tests/package/consumer -B ${WORK}/sub -G ${GENERATOR}
    -DANNAL_SOURCE_DIR=${SOURCE})
run(${CMAKE_COMMAND} --build ${WORK}/sub)
run(${WORK}/sub/consumer)
if(EXISTS ${WORK}/sub/consumer_kafka)
  run(${WORK}/sub/consumer_kafka)
endif()
if(EXISTS ${WORK}/sub/consumer_privacy)
  run(${WORK}/sub/consumer_privacy)
endif()
message(STATUS "installed package and add_subdirectory both build and run a consumer")
