# Runs one example and checks both its exit code and its output (PASS_REGULAR_EXPRESSION alone
# ignores the exit code). Inputs: PROGRAM, ARGS (a ;-list), EXPECT (a regex over the output).
execute_process(COMMAND ${PROGRAM} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}:\n${out}")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "output of ${PROGRAM} lacks /${EXPECT}/:\n${out}")
endif()
message(STATUS "${out}")
