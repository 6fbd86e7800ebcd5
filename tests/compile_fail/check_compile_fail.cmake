# SPDX-License-Identifier: Apache-2.0
# Compiles SOURCE and passes only if compilation fails with a diagnostic matching the regex on
# its first line (`// expect: <regex>`). Run with cmake -P.
file(STRINGS "${SOURCE}" _first LIMIT_COUNT 1)
string(REGEX REPLACE "^// expect: " "" _expect "${_first}")
set(_args -std=c++20 -fsyntax-only)
foreach(_inc IN LISTS INCLUDES)
  list(APPEND _args "-I${_inc}")
endforeach()
execute_process(COMMAND "${CXX}" ${_args} "${SOURCE}" RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
if(_rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
if(NOT "${_out}${_err}" MATCHES "${_expect}")
  message(FATAL_ERROR "${SOURCE} failed to compile without the expected message '${_expect}':\n${_err}")
endif()
message(STATUS "failed to compile as expected: ${_expect}")
