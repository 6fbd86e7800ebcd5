# SPDX-License-Identifier: Apache-2.0
# Installs BUILD_DIR into WORK_DIR/prefix, asks pkg-config for starbucks's version and flags, then
# compiles and runs SOURCE (the core-headers consumer) with those flags alone. Run with cmake -P;
# PKG_CONFIG, CXX and VERSION (the expected version) are given.
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/package_common.cmake")
file(REMOVE_RECURSE "${WORK_DIR}")
starbucks_install_into("${BUILD_DIR}" "${WORK_DIR}/prefix")
set(ENV{PKG_CONFIG_PATH} "${WORK_DIR}/prefix/share/pkgconfig")

execute_process(COMMAND "${PKG_CONFIG}" --modversion starbucks RESULT_VARIABLE rc OUTPUT_VARIABLE got
                ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0 OR NOT got STREQUAL VERSION)
  message(FATAL_ERROR "pkg-config --modversion starbucks gave '${got}' (rc ${rc}, ${err}); expected ${VERSION}")
endif()
execute_process(COMMAND "${PKG_CONFIG}" --cflags starbucks RESULT_VARIABLE rc OUTPUT_VARIABLE cflags
                ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags starbucks failed: ${err}")
endif()
if(NOT cflags MATCHES "-I${WORK_DIR}/prefix/share/pkgconfig/../../include")
  message(FATAL_ERROR "pkg-config --cflags starbucks does not point into the install tree: ${cflags}")
endif()
message(STATUS "pkg-config --cflags starbucks: ${cflags}")
separate_arguments(cflags UNIX_COMMAND "${cflags}")
execute_process(COMMAND "${CXX}" -std=c++20 ${cflags} "${SOURCE}" -o "${WORK_DIR}/consumer" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling ${SOURCE} with the pkg-config flags failed")
endif()
starbucks_run_consumer("${WORK_DIR}/consumer")
