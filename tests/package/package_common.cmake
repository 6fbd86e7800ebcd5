# SPDX-License-Identifier: Apache-2.0
# Helpers the tests/package/check_*.cmake scripts share (include()d, run with cmake -P).

# Installs the build tree `build_dir` into `prefix`, which is emptied first.
function(starbucks_install_into build_dir prefix)
  file(REMOVE_RECURSE "${prefix}")
  execute_process(COMMAND "${CMAKE_COMMAND}" --install "${build_dir}" --prefix "${prefix}"
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install of ${build_dir} into ${prefix} failed")
  endif()
endfunction()

# A step that had to fail: fails the test unless `rc` is non-zero and `text` matches `regex`,
# then prints the matching line.
function(starbucks_expect_refusal rc text regex what)
  if(rc EQUAL 0)
    message(FATAL_ERROR "${what} succeeded; it should fail with /${regex}/:\n${text}")
  elseif(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what} failed without the expected message /${regex}/:\n${text}")
  endif()
  string(REGEX MATCH "[^\n]*${regex}[^\n]*" shown "${text}")
  string(LENGTH "${shown}" length)
  if(length GREATER 300)
    string(REGEX MATCH "${regex}" shown "${text}")
  endif()
  message(STATUS "${what} failed as expected: ${shown}")
endfunction()

# After a step whose exit code and output are in the variables named `rc_var` and `text_var`:
# with EXPECT=fail, checks the refusal (FAIL_REGEX) and ends the script; otherwise fails the
# test unless the step succeeded.
macro(starbucks_check_step rc_var text_var what)
  if(EXPECT STREQUAL "fail")
    starbucks_expect_refusal(${${rc_var}} "${${text_var}}" "${FAIL_REGEX}" "${what}")
    return()
  elseif(NOT ${${rc_var}} EQUAL 0)
    message(FATAL_ERROR "${what} failed:\n${${text_var}}")
  endif()
endmacro()

# Runs a built consumer program, prints its output, and fails the test unless it exits 0.
function(starbucks_run_consumer program)
  execute_process(COMMAND "${program}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${program} exited ${rc}")
  endif()
endfunction()
