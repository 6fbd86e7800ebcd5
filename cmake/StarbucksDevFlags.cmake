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
endif()
if(STARBUCKS_SANITIZE)
  target_compile_options(starbucks_dev_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${STARBUCKS_SANITIZE} -fno-sanitize-recover=all
                                                       -fno-omit-frame-pointer>)
  target_link_options(starbucks_dev_flags INTERFACE -fsanitize=${STARBUCKS_SANITIZE})
endif()
