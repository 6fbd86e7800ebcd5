# SPDX-License-Identifier: Apache-2.0
# The header-only INTERFACE targets: core, one per optional backend, and the umbrella.

find_package(nlohmann_json 3.10 CONFIG REQUIRED)

file(GLOB_RECURSE _starbucks_headers CONFIGURE_DEPENDS
     RELATIVE "${PROJECT_SOURCE_DIR}/include" "${PROJECT_SOURCE_DIR}/include/starbucks/*.hpp")
list(TRANSFORM _starbucks_headers PREPEND "include/")

add_library(starbucks_core INTERFACE)
add_library(starbucks::core ALIAS starbucks_core)
set_target_properties(starbucks_core PROPERTIES EXPORT_NAME core)
target_sources(starbucks_core INTERFACE FILE_SET HEADERS BASE_DIRS include FILES ${_starbucks_headers})
target_compile_features(starbucks_core INTERFACE cxx_std_20)
target_link_libraries(starbucks_core INTERFACE nlohmann_json::nlohmann_json)
if(STARBUCKS_ENABLE_CHECKS)
  target_compile_definitions(starbucks_core INTERFACE STARBUCKS_ENABLE_CHECKS=1)
endif()

add_library(starbucks INTERFACE)
add_library(starbucks::starbucks ALIAS starbucks)
set_target_properties(starbucks PROPERTIES EXPORT_NAME starbucks)
target_link_libraries(starbucks INTERFACE starbucks_core)
set(STARBUCKS_COMPONENTS core)

if(STARBUCKS_WITH_EIGEN)
  find_package(Eigen3 3.4 CONFIG REQUIRED)
  add_library(starbucks_cpu_eigen INTERFACE)
  add_library(starbucks::cpu_eigen ALIAS starbucks_cpu_eigen)
  set_target_properties(starbucks_cpu_eigen PROPERTIES EXPORT_NAME cpu_eigen)
  target_link_libraries(starbucks_cpu_eigen INTERFACE starbucks_core Eigen3::Eigen)
  target_compile_definitions(starbucks_cpu_eigen INTERFACE STARBUCKS_WITH_EIGEN=1)
  target_link_libraries(starbucks INTERFACE starbucks_cpu_eigen)
  list(APPEND STARBUCKS_COMPONENTS cpu_eigen)
endif()

if(STARBUCKS_WITH_ONEDNN)
  find_package(dnnl CONFIG REQUIRED)
  add_library(starbucks_cpu_onednn INTERFACE)
  add_library(starbucks::cpu_onednn ALIAS starbucks_cpu_onednn)
  set_target_properties(starbucks_cpu_onednn PROPERTIES EXPORT_NAME cpu_onednn)
  target_link_libraries(starbucks_cpu_onednn INTERFACE starbucks_core DNNL::dnnl)
  target_compile_definitions(starbucks_cpu_onednn INTERFACE STARBUCKS_WITH_ONEDNN=1)
  target_link_libraries(starbucks INTERFACE starbucks_cpu_onednn)
  list(APPEND STARBUCKS_COMPONENTS cpu_onednn)
endif()

if(STARBUCKS_WITH_CUDA)
  find_package(CUDAToolkit)
  if(CUDAToolkit_FOUND)
    # The CUDA backend's kernels arrive with the CUDA issue; the target already carries the
    # toolkit libraries so consumers can link it today.
    add_library(starbucks_cuda INTERFACE)
    add_library(starbucks::cuda ALIAS starbucks_cuda)
    set_target_properties(starbucks_cuda PROPERTIES EXPORT_NAME cuda)
    target_link_libraries(starbucks_cuda INTERFACE starbucks_core CUDA::cudart CUDA::cublas CUDA::cublasLt)
    target_compile_definitions(starbucks_cuda INTERFACE STARBUCKS_WITH_CUDA=1)
    target_link_libraries(starbucks INTERFACE starbucks_cuda)
    list(APPEND STARBUCKS_COMPONENTS cuda)
  else()
    message(WARNING "STARBUCKS_WITH_CUDA is ON but no CUDA toolkit was found; starbucks::cuda is not built")
  endif()
endif()
