# SPDX-License-Identifier: Apache-2.0
# Install and export rules. The install tree holds exactly:
#   include/starbucks/...          the headers (FILE_SET HEADERS of the targets)
#   bin/starbucks                  the executable, when STARBUCKS_BUILD_EXAMPLES built it
#   share/cmake/starbucks/         the CMake package (config, version, targets, utf8proc helper)
#   share/pkgconfig/starbucks.pc   the core headers for pkg-config
#   share/doc/starbucks/LICENSE    the licence
# tests/package/check_install_layout.cmake fails on anything else. The build tree is a CMake
# package too: find_package(starbucks) with starbucks_DIR=<build dir> uses the source headers.
set(_starbucks_targets starbucks starbucks_core)
foreach(_c IN ITEMS text cpu_eigen cpu_onednn cuda mpi)
  if(TARGET starbucks_${_c})
    list(APPEND _starbucks_targets starbucks_${_c})
  endif()
endforeach()

install(TARGETS ${_starbucks_targets} EXPORT starbucksTargets FILE_SET HEADERS)
if(TARGET starbucks_cli)
  install(TARGETS starbucks_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
endif()
set(STARBUCKS_CMAKE_DIR "${CMAKE_INSTALL_DATADIR}/cmake/starbucks")
install(EXPORT starbucksTargets NAMESPACE starbucks:: DESTINATION "${STARBUCKS_CMAKE_DIR}")
export(EXPORT starbucksTargets NAMESPACE starbucks:: FILE "${PROJECT_BINARY_DIR}/starbucksTargets.cmake")

configure_package_config_file(cmake/starbucksConfig.cmake.in "${PROJECT_BINARY_DIR}/starbucksConfig.cmake"
                              INSTALL_DESTINATION "${STARBUCKS_CMAKE_DIR}")
# SameMajorVersion: find_package(starbucks 0.1) accepts 0.1.x and later 0.y, refuses 1.x
# (semantic versioning, CHANGELOG.md); the package is header-only, so any architecture fits.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/starbucksConfigVersion.cmake"
                                 COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/starbucksConfig.cmake" "${PROJECT_BINARY_DIR}/starbucksConfigVersion.cmake"
        DESTINATION "${STARBUCKS_CMAKE_DIR}")
if(TARGET starbucks_text)
  install(FILES cmake/StarbucksUtf8proc.cmake DESTINATION "${STARBUCKS_CMAKE_DIR}")
  configure_file(cmake/StarbucksUtf8proc.cmake "${PROJECT_BINARY_DIR}/StarbucksUtf8proc.cmake" COPYONLY)
endif()

# pkg-config describes the core headers only (nlohmann-json, C++20); backends need CMake.
set(STARBUCKS_PC_CFLAGS "")
if(STARBUCKS_ENABLE_CHECKS)
  set(STARBUCKS_PC_CFLAGS " -DSTARBUCKS_ENABLE_CHECKS=1")
endif()
configure_file(cmake/starbucks.pc.in "${PROJECT_BINARY_DIR}/starbucks.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/starbucks.pc" DESTINATION "${CMAKE_INSTALL_DATADIR}/pkgconfig")

install(FILES LICENSE DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/starbucks")
