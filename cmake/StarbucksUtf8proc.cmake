# SPDX-License-Identifier: Apache-2.0
# Defines the IMPORTED target starbucks::utf8proc, which starbucks::text links. utf8proc's own
# CMake package (vcpkg, Conan, recent upstream) is used when there is one; Debian ships only
# a header, a library and a .pc file, so otherwise header and library are found directly.
# Installed with the package: the package config includes it too. No include guard: an IMPORTED
# target is seen only below the directory that made it, so each find_package scope makes its own.

if(NOT TARGET starbucks::utf8proc)
  find_package(utf8proc CONFIG QUIET)
  if(TARGET utf8proc::utf8proc)
    add_library(starbucks::utf8proc INTERFACE IMPORTED)
    set_target_properties(starbucks::utf8proc PROPERTIES INTERFACE_LINK_LIBRARIES utf8proc::utf8proc)
  else()
    find_path(STARBUCKS_UTF8PROC_INCLUDE_DIR utf8proc.h)
    find_library(STARBUCKS_UTF8PROC_LIBRARY NAMES utf8proc)
    mark_as_advanced(STARBUCKS_UTF8PROC_INCLUDE_DIR STARBUCKS_UTF8PROC_LIBRARY)
    if(STARBUCKS_UTF8PROC_INCLUDE_DIR AND STARBUCKS_UTF8PROC_LIBRARY)
      add_library(starbucks::utf8proc UNKNOWN IMPORTED)
      set_target_properties(starbucks::utf8proc PROPERTIES IMPORTED_LOCATION "${STARBUCKS_UTF8PROC_LIBRARY}"
                                                           INTERFACE_INCLUDE_DIRECTORIES "${STARBUCKS_UTF8PROC_INCLUDE_DIR}")
    endif()
  endif()
endif()
