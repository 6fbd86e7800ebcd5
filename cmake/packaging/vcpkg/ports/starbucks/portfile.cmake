# SPDX-License-Identifier: Apache-2.0
# vcpkg port of starbucks (header-only; the tools feature adds the executable).
#   vcpkg install "starbucks[eigen,onednn]" --overlay-ports=<checkout>/cmake/packaging/vcpkg/ports
# As an overlay port it builds the checkout it lives in (five folders up). A registry copy fetches
# the release instead:
#   vcpkg_from_github(OUT_SOURCE_PATH SOURCE_PATH REPO <owner>/starbucks REF "v${VERSION}" SHA512 <hash>)
get_filename_component(SOURCE_PATH "${CURRENT_PORT_DIR}/../../../../.." ABSOLUTE)

# Headers (and the tool) do not depend on the build type: one release configuration.
set(VCPKG_BUILD_TYPE release)

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
    FEATURES
        eigen   STARBUCKS_WITH_EIGEN
        onednn  STARBUCKS_WITH_ONEDNN
        cuda    STARBUCKS_WITH_CUDA
        mpi     STARBUCKS_WITH_MPI
        tools   STARBUCKS_BUILD_EXAMPLES
)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        ${FEATURE_OPTIONS}
        -DSTARBUCKS_WITH_TEXT=ON
        -DSTARBUCKS_BUILD_TESTS=OFF
        -DSTARBUCKS_BUILD_BENCHMARKS=OFF
        -DSTARBUCKS_BUILD_DOCS=OFF
        -DSTARBUCKS_INSTALL=ON
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/starbucks)
vcpkg_fixup_pkgconfig()

if("tools" IN_LIST FEATURES)
    vcpkg_copy_tools(TOOL_NAMES starbucks AUTO_CLEAN)
endif()

# Header-only: no libraries. The licence goes to share/starbucks/copyright, not share/doc.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/lib" "${CURRENT_PACKAGES_DIR}/debug" "${CURRENT_PACKAGES_DIR}/share/doc")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
