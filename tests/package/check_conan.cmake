# SPDX-License-Identifier: Apache-2.0
# Runs `conan create` on the recipe in cmake/packaging/conan, offline: a fresh CONAN_HOME in
# WORK_DIR with no remotes, the profile PROFILE (whose [platform_requires] declares the Debian
# packages), and the options OPTIONS (| separated, each NAME=VALUE for starbucks/*). The test
# package is copied into WORK_DIR first so its build stays out of the source tree. Run with
# cmake -P and
#   CONAN        the command that runs Conan (| separated), CONAN_PYTHONPATH where it is installed
#   RECIPE_DIR   cmake/packaging/conan
#   NO_CUDA      ON: CUDA_PATH names an empty folder (no CUDA toolkit, whatever the machine has)
#   EXPECT       ok: the package is created and the test package prints STDOUT_REGEX;
#                fail: conan refuses with FAIL_REGEX
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/package_common.cmake")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/home")
file(COPY "${RECIPE_DIR}/test_package" DESTINATION "${WORK_DIR}")
set(ENV{CONAN_HOME} "${WORK_DIR}/home")
if(NO_CUDA)
  file(MAKE_DIRECTORY "${WORK_DIR}/no-cuda")
  set(ENV{CUDA_PATH} "${WORK_DIR}/no-cuda")
endif()
if(CONAN_PYTHONPATH)
  set(ENV{PYTHONPATH} "${CONAN_PYTHONPATH}")
endif()
string(REPLACE "|" ";" CONAN "${CONAN}")

function(conan)
  execute_process(COMMAND ${CONAN} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(rc ${rc} PARENT_SCOPE)
  set(text "${out}${err}" PARENT_SCOPE)
endfunction()

# A fresh home lists conancenter: remove it, so nothing can be fetched.
conan(remote remove "*")
conan(remote list)
if(NOT rc EQUAL 0 OR text MATCHES "https?://")
  message(FATAL_ERROR "could not leave Conan without remotes:\n${text}")
endif()

set(options "")
string(REPLACE "|" ";" OPTIONS "${OPTIONS}")
foreach(o IN LISTS OPTIONS)
  list(APPEND options -o "starbucks/*:${o}")
endforeach()
conan(create "${RECIPE_DIR}" --no-remote -pr:a "${PROFILE}" ${options} -tf "${WORK_DIR}/test_package")
starbucks_check_step(rc text "conan create with ${OPTIONS}")
if(NOT text MATCHES "${STDOUT_REGEX}")
  message(FATAL_ERROR "the test package did not print /${STDOUT_REGEX}/:\n${text}")
endif()
string(REGEX MATCH "Full package reference: [^\n]*" ref "${text}")
string(REGEX MATCH "[^\n]*${STDOUT_REGEX}[^\n]*" shown "${text}")
message(STATUS "${ref}\n${shown}")
