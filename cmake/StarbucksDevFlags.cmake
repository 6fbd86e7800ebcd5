# SPDX-License-Identifier: Apache-2.0
# starbucks_dev_flags: warnings and sanitizers for our own tests, examples and benchmarks only.
add_library(starbucks_dev_flags INTERFACE)
target_compile_options(starbucks_dev_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic $<$<BOOL:${STARBUCKS_WERROR}>:-Werror>>)
# nvcc: warnings of the host compiler on the host side of .cu files, and nvcc's own.
target_compile_options(starbucks_dev_flags INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra $<$<BOOL:${STARBUCKS_WERROR}>:-Werror=all-warnings -Xcompiler=-Werror>>)
# backend::cuda's kernels for our own programs, compiled once (nvcc is the slow compiler here).
if(TARGET starbucks::cuda)
  add_library(starbucks_cuda_kernels STATIC "${PROJECT_SOURCE_DIR}/examples/cuda_backend.cu")
  target_link_libraries(starbucks_cuda_kernels PUBLIC starbucks::cuda PRIVATE starbucks_dev_flags)
  # NCCL (in the CUDA toolkit here) for data parallelism on GPUs: distributed::nccl_communicator,
  # whose calls this translation unit compiles when STARBUCKS_WITH_NCCL is defined.
  find_path(STARBUCKS_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(STARBUCKS_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} "${CUDAToolkit_LIBRARY_ROOT}/lib" "${CUDAToolkit_LIBRARY_ROOT}/lib64")
  if(STARBUCKS_NCCL_INCLUDE_DIR AND STARBUCKS_NCCL_LIBRARY)
    target_compile_definitions(starbucks_cuda_kernels PUBLIC STARBUCKS_WITH_NCCL=1)
    target_include_directories(starbucks_cuda_kernels SYSTEM PUBLIC "${STARBUCKS_NCCL_INCLUDE_DIR}")
    target_link_libraries(starbucks_cuda_kernels PUBLIC "${STARBUCKS_NCCL_LIBRARY}")
    message(STATUS "starbucks: NCCL ${STARBUCKS_NCCL_LIBRARY}: data parallelism on backend::cuda")
  else()
    message(STATUS "starbucks: no NCCL next to the CUDA toolkit: data parallelism on backend::cuda is not built")
  endif()
endif()
if(STARBUCKS_SANITIZE)
  target_compile_options(starbucks_dev_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${STARBUCKS_SANITIZE} -fno-sanitize-recover=all
                                                       -fno-omit-frame-pointer>)
  target_link_options(starbucks_dev_flags INTERFACE -fsanitize=${STARBUCKS_SANITIZE})
endif()
