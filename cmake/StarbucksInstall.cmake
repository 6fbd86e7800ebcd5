# SPDX-License-Identifier: Apache-2.0
# Install the headers and export the targets as a CMake package with components.
set(_starbucks_targets starbucks starbucks_core)
foreach(_c IN ITEMS text cpu_eigen cpu_onednn cuda)
  if(TARGET starbucks_${_c})
    list(APPEND _starbucks_targets starbucks_${_c})
  endif()
endforeach()

install(TARGETS ${_starbucks_targets} EXPORT starbucksTargets FILE_SET HEADERS)
set(STARBUCKS_CMAKE_DIR "${CMAKE_INSTALL_DATADIR}/cmake/starbucks")
install(EXPORT starbucksTargets NAMESPACE starbucks:: DESTINATION "${STARBUCKS_CMAKE_DIR}")

configure_package_config_file(cmake/starbucksConfig.cmake.in "${PROJECT_BINARY_DIR}/starbucksConfig.cmake"
                              INSTALL_DESTINATION "${STARBUCKS_CMAKE_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/starbucksConfigVersion.cmake"
                                 COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/starbucksConfig.cmake" "${PROJECT_BINARY_DIR}/starbucksConfigVersion.cmake"
        DESTINATION "${STARBUCKS_CMAKE_DIR}")
if(TARGET starbucks_text)
  install(FILES cmake/StarbucksUtf8proc.cmake DESTINATION "${STARBUCKS_CMAKE_DIR}")
endif()
install(FILES LICENSE README.md DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/starbucks")
