# SPDX-License-Identifier: Apache-2.0
# Configures, builds and runs tests/package/consumer against one form of the package. Run with
# cmake -P and these variables (lists separated by |):
#   WORK_DIR     scratch folder, emptied first          CXX, GENERATOR  compiler and generator
#   SOURCE_DIR   the consumer project
#   INSTALL_FROM a build tree to `cmake --install` into WORK_DIR/prefix, then found through
#                CMAKE_PREFIX_PATH (an install tree)
#   PREFIX       a prefix to find the package in (e.g. a staged vcpkg port)
#   PACKAGE_DIR  starbucks_DIR for find_package (a build tree)
#   USE          find_package (default), add_subdirectory or FetchContent; STARBUCKS_SOURCE for the latter two
#   COMPONENTS   components find_package asks for
#   VERSIONS     version requests; each one only configures (default: 0.1, configure + build + run)
#   EXPECT       ok (default) or fail: with fail, every configure must fail and print FAIL_REGEX
#   ARGS         more -D arguments for the consumer's configure
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/package_common.cmake")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
if(NOT EXPECT)
  set(EXPECT ok)
endif()

set(_args "-DCMAKE_CXX_COMPILER=${CXX}")
if(GENERATOR)
  list(APPEND _args -G "${GENERATOR}")
endif()
if(INSTALL_FROM)
  starbucks_install_into("${INSTALL_FROM}" "${WORK_DIR}/prefix")
  set(PREFIX "${WORK_DIR}/prefix")
endif()
if(PREFIX)
  list(APPEND _args "-DCMAKE_PREFIX_PATH=${PREFIX}")
endif()
if(PACKAGE_DIR)
  list(APPEND _args "-Dstarbucks_DIR=${PACKAGE_DIR}")
endif()
if(USE)
  list(APPEND _args "-DSTARBUCKS_USE=${USE}" "-DSTARBUCKS_SOURCE=${STARBUCKS_SOURCE}")
endif()
if(COMPONENTS)
  string(REPLACE "|" ";" COMPONENTS "${COMPONENTS}")
  list(APPEND _args "-DSTARBUCKS_REQUEST_COMPONENTS=${COMPONENTS}")
endif()
string(REPLACE "|" ";" ARGS "${ARGS}")
list(APPEND _args ${ARGS})

function(configure_consumer build_dir version out_rc out_text)
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${build_dir}" ${_args}
                          "-DSTARBUCKS_VERSION_REQUEST=${version}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  # CMake wraps its messages; one space per run of blanks lets a regex span the line breaks.
  string(REGEX REPLACE "[ \t\r\n]+" " " text "${out}${err}")
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(${out_text} "${text}" PARENT_SCOPE)
endfunction()

if(VERSIONS)
  string(REPLACE "|" ";" VERSIONS "${VERSIONS}")
  foreach(v IN LISTS VERSIONS)
    configure_consumer("${WORK_DIR}/build-${v}" "${v}" rc text)
    if(EXPECT STREQUAL "fail")
      starbucks_expect_refusal(${rc} "${text}" "${FAIL_REGEX}" "find_package(starbucks ${v})")
    elseif(NOT rc EQUAL 0)
      message(FATAL_ERROR "find_package(starbucks ${v}) was refused:\n${text}")
    else()
      message(STATUS "find_package(starbucks ${v}): accepted")
    endif()
  endforeach()
  return()
endif()

configure_consumer("${WORK_DIR}/build" "0.1" rc text)
starbucks_check_step(rc text "the consumer's configure")
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/build" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer build failed")
endif()
starbucks_run_consumer("${WORK_DIR}/build/consumer")
