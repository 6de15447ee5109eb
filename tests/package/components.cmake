# The backend switches and the installed package's components. Inputs: SOURCE, WORK, GENERATOR.
# A missing client library is simulated by pointing pkg-config at an empty directory, which hides
# librdkafka (rdkafka.pc) and libsodium (libsodium.pc) on Debian.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/empty)
set(hidden ${CMAKE_COMMAND} -E env PKG_CONFIG_LIBDIR=${WORK}/empty PKG_CONFIG_PATH=)

# expect(PASS|FAIL <regex> <what> COMMAND...): runs the command; checks its outcome and that its
# output matches <regex>. Every check runs; the failed ones are counted and reported at the end.
set(failures 0)
function(expect outcome regex what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX REPLACE "[ \n]+" " " flat "${out}")  # CMake wraps long messages
  set(why "")
  if(outcome STREQUAL "PASS" AND NOT rc EQUAL 0)
    set(why "expected success, got (${rc})")
  elseif(outcome STREQUAL "FAIL" AND rc EQUAL 0)
    set(why "expected a failure, it succeeded")
  elseif(NOT flat MATCHES "${regex}")
    set(why "output does not match '${regex}'")
  endif()
  if(why)
    message(STATUS "FAILED: ${what}: ${why}:\n${out}")
    math(EXPR failures "${failures} + 1")
    set(failures ${failures} PARENT_SCOPE)
  else()
    message(STATUS "ok: ${what}")
  endif()
endfunction()

set(annal_args -G ${GENERATOR} -DANNAL_BUILD_TESTS=OFF -DANNAL_BUILD_EXAMPLES=OFF
  -DANNAL_BUILD_BENCH=OFF -DANNAL_INSTALL=ON)

# Switches: ON with the library missing stops, naming the package; a bad value stops; AUTO builds
# the backend when its library is there and leaves it out when not; OFF leaves it out.
expect(FAIL "ANNAL_WITH_KAFKA is ON but librdkafka was not found.*apt-get install librdkafka-dev"
  "ANNAL_WITH_KAFKA=ON, librdkafka hidden"
  ${hidden} ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/on-missing ${annal_args} -DANNAL_WITH_KAFKA=ON)
expect(FAIL "ANNAL_WITH_PRIVACY is 'maybe'; it takes ON, OFF or AUTO" "ANNAL_WITH_PRIVACY=maybe"
  ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/bad-value ${annal_args} -DANNAL_WITH_PRIVACY=maybe)
expect(PASS "librdkafka not found, annal::kafka is off" "ANNAL_WITH_KAFKA=AUTO, librdkafka hidden"
  ${hidden} ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/auto-missing ${annal_args}
  -DANNAL_WITH_KAFKA=AUTO)
expect(PASS "" "ANNAL_WITH_*=AUTO, every library present; installed to prefix-all"
  ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/all ${annal_args} -DANNAL_WITH_SQLITE=AUTO
  -DANNAL_WITH_POSTGRES=AUTO -DANNAL_WITH_KAFKA=AUTO -DANNAL_WITH_PRIVACY=AUTO
  -DCMAKE_INSTALL_PREFIX=${WORK}/prefix-all)
expect(PASS "" "install with every backend" ${CMAKE_COMMAND} --install ${WORK}/all)
expect(PASS "" "sqlite only; installed to prefix-sqlite"
  ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/sqlite ${annal_args} -DANNAL_WITH_SQLITE=ON
  -DANNAL_WITH_POSTGRES=OFF -DANNAL_WITH_KAFKA=OFF -DANNAL_WITH_PRIVACY=OFF
  -DCMAKE_INSTALL_PREFIX=${WORK}/prefix-sqlite)
expect(PASS "" "install with sqlite only" ${CMAKE_COMMAND} --install ${WORK}/sqlite)

# consumer(NAME PREFIX WANT OPTIONAL): configure arguments for the components consumer (WANT and
# OPTIONAL are comma-separated).
macro(consumer name prefix want optional)
  set(args -S ${SOURCE}/tests/package/components -B ${WORK}/${name} -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${WORK}/${prefix} "-DWANT=${want}" "-DOPTIONAL=${optional}")
endmacro()

# Components: each is loaded when asked for, and only then are its dependencies looked for.
consumer(every prefix-all "sqlite,postgres,kafka,privacy" "")
expect(PASS "annal targets: annal::annal;annal::sqlite;annal::postgres;annal::kafka;annal::privacy"
  "every component asked for, every one there" ${CMAKE_COMMAND} ${args})
consumer(core-only prefix-all "" "")
expect(PASS "annal targets: annal::annal -" "annal::annal alone, librdkafka and libsodium hidden"
  ${hidden} ${CMAKE_COMMAND} ${args})
consumer(kafka-hidden prefix-all "kafka" "")
expect(FAIL "annal::kafka needs librdkafka's pkg-config file rdkafka.pc \\(Debian: librdkafka-dev\\)"
  "annal::kafka asked for, librdkafka hidden" ${hidden} ${CMAKE_COMMAND} ${args})
consumer(optional-hidden prefix-all "sqlite" "kafka,privacy")
expect(PASS "annal targets: annal::annal;annal::sqlite -"
  "optional kafka and privacy, their libraries hidden" ${hidden} ${CMAKE_COMMAND} ${args})
consumer(not-built prefix-sqlite "kafka" "")
expect(FAIL "annal::kafka is not in this installation of annal \\(built with: sqlite\\); install annal again with -DANNAL_WITH_KAFKA=ON"
  "annal::kafka asked of an installation without it" ${CMAKE_COMMAND} ${args})
consumer(typo prefix-all "kafak" "")
expect(FAIL "annal has no component 'kafak'" "a misspelt component" ${CMAKE_COMMAND} ${args})
if(failures)
  message(FATAL_ERROR "${failures} switch or component checks failed")
endif()
