# SPDX-License-Identifier: Apache-2.0
# The header-only INTERFACE targets: core, one per optional backend, and the umbrella.

find_package(nlohmann_json 3.10 CONFIG REQUIRED)

file(GLOB_RECURSE _starbucks_headers CONFIGURE_DEPENDS
     RELATIVE "${PROJECT_SOURCE_DIR}/include" "${PROJECT_SOURCE_DIR}/include/starbucks/*.hpp")
list(TRANSFORM _starbucks_headers PREPEND "include/")
# text/ needs utf8proc, so its headers belong to starbucks::text, not to core.
set(_starbucks_text_headers ${_starbucks_headers})
list(FILTER _starbucks_text_headers INCLUDE REGEX "^include/starbucks/text/")
list(FILTER _starbucks_headers EXCLUDE REGEX "^include/starbucks/text/")

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

# An optional backend component: INTERFACE target starbucks::<name> linking its dependency and
# defining STARBUCKS_WITH_<MACRO>, which the umbrella target links as well.
function(starbucks_add_component name macro)
  add_library(starbucks_${name} INTERFACE)
  add_library(starbucks::${name} ALIAS starbucks_${name})
  set_target_properties(starbucks_${name} PROPERTIES EXPORT_NAME ${name})
  target_link_libraries(starbucks_${name} INTERFACE starbucks_core ${ARGN})
  target_compile_definitions(starbucks_${name} INTERFACE STARBUCKS_WITH_${macro}=1)
  target_link_libraries(starbucks INTERFACE starbucks_${name})
  set(STARBUCKS_COMPONENTS ${STARBUCKS_COMPONENTS} ${name} PARENT_SCOPE)
endfunction()

if(STARBUCKS_WITH_TEXT)
  include(${CMAKE_CURRENT_LIST_DIR}/StarbucksUtf8proc.cmake)
  if(NOT TARGET starbucks::utf8proc)
    message(FATAL_ERROR "STARBUCKS_WITH_TEXT needs utf8proc (Debian: libutf8proc-dev); install it or set STARBUCKS_WITH_TEXT=OFF")
  endif()
  starbucks_add_component(text TEXT starbucks::utf8proc)
  target_sources(starbucks_text INTERFACE FILE_SET HEADERS BASE_DIRS include FILES ${_starbucks_text_headers})
endif()

# The CPU backends share the OpenMP pool (oneDNN's Debian build uses the OpenMP runtime), so
# one thread count governs both and neither oversubscribes the other.
if(STARBUCKS_WITH_EIGEN OR STARBUCKS_WITH_ONEDNN)
  find_package(OpenMP REQUIRED COMPONENTS CXX)
endif()

if(STARBUCKS_WITH_EIGEN)
  find_package(Eigen3 3.4 CONFIG REQUIRED)
  starbucks_add_component(cpu_eigen EIGEN Eigen3::Eigen OpenMP::OpenMP_CXX)
endif()

if(STARBUCKS_WITH_ONEDNN)
  find_package(dnnl CONFIG REQUIRED)
  starbucks_add_component(cpu_onednn ONEDNN DNNL::dnnl OpenMP::OpenMP_CXX)
endif()

# Data parallelism: distributed/mpi_communicator.hpp needs <mpi.h>; the rest of distributed/
# (communicator, all_gather_rows, gradient all-reduce) is core and runs one process without it.
if(STARBUCKS_WITH_MPI)
  find_package(MPI REQUIRED COMPONENTS CXX)
  starbucks_add_component(mpi MPI MPI::MPI_CXX)
endif()

# CUDA: the headers are plain C++ except kernels/*.cuh and implementation.cuh, which one .cu
# file of each program includes (nvcc, -std=c++20: CMake 3.25 does not map CUDA_STANDARD 20 for
# nvcc 13, so the flag travels with the target). Default architectures: sm_90 plus its PTX.
if(STARBUCKS_WITH_CUDA)
  # The toolkit's usual home, for shells that did not source /etc/profile.d/cuda.sh.
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    find_program(_starbucks_nvcc nvcc)
    if(NOT _starbucks_nvcc)
      set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
    endif()
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    starbucks_add_component(cuda CUDA CUDA::cudart CUDA::cublas CUDA::cublasLt)
    target_compile_options(starbucks_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20 --expt-relaxed-constexpr>)
    file(GLOB_RECURSE _starbucks_cuda_sources CONFIGURE_DEPENDS
         RELATIVE "${PROJECT_SOURCE_DIR}" "${PROJECT_SOURCE_DIR}/include/starbucks/backend/cuda/*.cuh")
    target_sources(starbucks_cuda INTERFACE FILE_SET HEADERS BASE_DIRS include FILES ${_starbucks_cuda_sources})
  elseif(STARBUCKS_REQUIRE_CUDA)
    message(FATAL_ERROR "STARBUCKS_REQUIRE_CUDA: no CUDA compiler found; put nvcc on PATH or set CMAKE_CUDA_COMPILER (/usr/local/cuda/bin/nvcc)")
  else()
    message(WARNING "STARBUCKS_WITH_CUDA is ON but no CUDA compiler was found; starbucks::cuda is not built")
  endif()
endif()
