# SPDX-License-Identifier: Apache-2.0
# The API reference: `cmake --build <dir> --target docs` runs Doxygen (Debian package doxygen)
# over every header under include/starbucks/ into <dir>/docs/html, failing on any warning.
# With tests on, ctest's "docs:" check does the same in its own folder and also confirms that
# every public header has a described page (tests/package/check_docs.py).

find_package(Doxygen REQUIRED COMPONENTS doxygen)

set(STARBUCKS_DOCS_OUTPUT "${PROJECT_BINARY_DIR}/docs")
configure_file(docs/api/Doxyfile.in "${PROJECT_BINARY_DIR}/docs/Doxyfile" @ONLY)
add_custom_target(docs
                  COMMAND Doxygen::doxygen "${PROJECT_BINARY_DIR}/docs/Doxyfile"
                  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                  COMMENT "API reference (Doxygen) in ${STARBUCKS_DOCS_OUTPUT}/html"
                  VERBATIM)

if(STARBUCKS_BUILD_TESTS)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  set(STARBUCKS_DOCS_OUTPUT "${PROJECT_BINARY_DIR}/tests/docs-check")
  configure_file(docs/api/Doxyfile.in "${PROJECT_BINARY_DIR}/tests/docs-check.Doxyfile" @ONLY)
  add_test(NAME "docs: the API reference has no Doxygen warning and a page for every public header"
           COMMAND "${Python3_EXECUTABLE}" "${PROJECT_SOURCE_DIR}/tests/package/check_docs.py"
                   "${DOXYGEN_EXECUTABLE}" "${PROJECT_BINARY_DIR}/tests/docs-check.Doxyfile"
                   "${STARBUCKS_DOCS_OUTPUT}" "${PROJECT_SOURCE_DIR}/include"
           WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
  set_tests_properties("docs: the API reference has no Doxygen warning and a page for every public header"
                       PROPERTIES LABELS "docs;package")
endif()
