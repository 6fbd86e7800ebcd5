# SPDX-License-Identifier: Apache-2.0
# Installs BUILD_DIR into WORK_DIR/prefix and fails on any file outside the documented layout:
#   include/starbucks/**.hpp, bin/starbucks (only when EXPECT_TOOL is ON, and then required),
#   share/cmake/starbucks/*.cmake, share/pkgconfig/starbucks.pc, share/doc/starbucks/LICENSE.
# Every header under SOURCE_DIR/include/starbucks must be installed, and nothing else there.
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/package_common.cmake")
starbucks_install_into("${BUILD_DIR}" "${WORK_DIR}/prefix")

set(prefix "${WORK_DIR}/prefix")
file(GLOB_RECURSE installed LIST_DIRECTORIES false RELATIVE "${prefix}" "${prefix}/*")
file(GLOB_RECURSE headers LIST_DIRECTORIES false RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/include/starbucks/*")
set(required ${headers} share/cmake/starbucks/starbucksConfig.cmake share/cmake/starbucks/starbucksConfigVersion.cmake
             share/cmake/starbucks/starbucksTargets.cmake share/pkgconfig/starbucks.pc share/doc/starbucks/LICENSE)
if(EXPECT_TOOL)
  list(APPEND required bin/starbucks)
endif()

set(problems "")
foreach(f IN LISTS installed)
  if(f IN_LIST headers OR f MATCHES "^share/cmake/starbucks/[A-Za-z0-9_-]+\\.cmake$"
     OR f STREQUAL "share/pkgconfig/starbucks.pc" OR f STREQUAL "share/doc/starbucks/LICENSE"
     OR (EXPECT_TOOL AND f STREQUAL "bin/starbucks"))
    continue()
  endif()
  string(APPEND problems "\n  unexpected: ${f}")
endforeach()
foreach(f IN LISTS required)
  if(NOT f IN_LIST installed)
    string(APPEND problems "\n  missing: ${f}")
  endif()
endforeach()
if(problems)
  message(FATAL_ERROR "the install tree differs from the documented layout:${problems}")
endif()
list(LENGTH installed n)
list(LENGTH headers h)
message(STATUS "install tree: ${n} files, ${h} of them headers under include/starbucks/; tool installed: ${EXPECT_TOOL}")
