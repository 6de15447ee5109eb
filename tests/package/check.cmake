# Installs annal with every backend, then configures, builds and runs a consumer project against it
# with find_package (the commands of docs/consuming.md, through install.sh); then builds the same
# project with add_subdirectory and with FetchContent. Inputs: SOURCE, WORK, GENERATOR.
include(${CMAKE_CURRENT_LIST_DIR}/run.cmake)
# consumer_runs(DIR): the consumer's programs in DIR run and succeed, each component's too.
macro(consumer_runs dir)
  foreach(program consumer consumer_kafka consumer_privacy)
    if(NOT EXISTS ${dir}/${program})
      message(FATAL_ERROR "${dir}/${program} was not built")
    endif()
    run(${dir}/${program})
  endforeach()
endmacro()

run(bash ${SOURCE}/tests/package/install.sh ${SOURCE} ${WORK})
consumer_runs(${WORK}/my_service/build)

run(${CMAKE_COMMAND} -S ${SOURCE}/tests/package/consumer -B ${WORK}/sub -G ${GENERATOR}
    -DANNAL_SOURCE_DIR=${SOURCE})
run(${CMAKE_COMMAND} --build ${WORK}/sub)
consumer_runs(${WORK}/sub)

# FetchContent from an archive holding what a consumer needs of annal's sources.
run(${CMAKE_COMMAND} -E chdir ${SOURCE} ${CMAKE_COMMAND} -E tar czf ${WORK}/annal.tar.gz
    CMakeLists.txt LICENSE cmake include)
run(${CMAKE_COMMAND} -S ${SOURCE}/tests/package/consumer -B ${WORK}/fetched -G ${GENERATOR}
    -DANNAL_ARCHIVE=${WORK}/annal.tar.gz)
run(${CMAKE_COMMAND} --build ${WORK}/fetched)
consumer_runs(${WORK}/fetched)
message(STATUS "installed package, add_subdirectory and FetchContent each build and run a consumer")
