# Runs one compile-fail case: the snippet must fail with the expected diagnostic when
# ANNAL_COMPILE_FAIL is defined, and its twin (the same file without it) must compile, so a typo
# cannot make the case pass. Expected text: lines "// expect: <regex>" in the source; "// first:
# <regex>" must match the first error line (where a reader looks), "// reject: <regex>" must match
# nowhere (a misleading follow-on error).
# Inputs: COMPILER, SOURCE, FLAGS (a ;-list).
file(STRINGS ${SOURCE} expect_lines REGEX "^// expect: ")
if(NOT expect_lines)
  message(FATAL_ERROR "${SOURCE} has no '// expect:' line")
endif()

execute_process(COMMAND ${COMPILER} ${FLAGS} -fsyntax-only ${SOURCE}
  RESULT_VARIABLE twin_rc OUTPUT_VARIABLE twin_out ERROR_VARIABLE twin_out)
if(NOT twin_rc EQUAL 0)
  message(FATAL_ERROR "the passing twin of ${SOURCE} does not compile:\n${twin_out}")
endif()

execute_process(COMMAND ${COMPILER} ${FLAGS} -DANNAL_COMPILE_FAIL -fsyntax-only ${SOURCE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled with ANNAL_COMPILE_FAIL but must not")
endif()
foreach(line IN LISTS expect_lines)
  string(REGEX REPLACE "^// expect: " "" pattern "${line}")
  if(NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "diagnostic of ${SOURCE} lacks /${pattern}/:\n${out}")
  endif()
endforeach()

file(STRINGS ${SOURCE} first_lines REGEX "^// first: ")
if(first_lines)
  string(REGEX MATCH "[^\n]*error[^\n]*" first_error "${out}")
  foreach(line IN LISTS first_lines)
    string(REGEX REPLACE "^// first: " "" pattern "${line}")
    if(NOT first_error MATCHES "${pattern}")
      message(FATAL_ERROR "the first error line of ${SOURCE} lacks /${pattern}/:\n${first_error}")
    endif()
  endforeach()
endif()

file(STRINGS ${SOURCE} reject_lines REGEX "^// reject: ")
foreach(line IN LISTS reject_lines)
  string(REGEX REPLACE "^// reject: " "" pattern "${line}")
  if(out MATCHES "${pattern}")
    message(FATAL_ERROR "diagnostic of ${SOURCE} has a misleading /${pattern}/:\n${out}")
  endif()
endforeach()
message(STATUS "ok: ${SOURCE}")
