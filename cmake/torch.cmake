# Locate the torch of the current Python and describe it as imported targets:
#   intrinsix_torch       headers + c10 + torch_cpu (always)
#   intrinsix_torch_cuda  c10_cuda + torch_cuda + CUDA runtime (CUDA builds only)
# Sets INTRINSIX_WITH_CUDA. We ask Python instead of find_package(Torch) because TorchConfig's
# CUDA probing is fragile across toolkit versions, and all we need are paths and one ABI flag.
find_package(Python3 REQUIRED COMPONENTS Interpreter)

execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c
    "import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI)); print(torch.version.cuda or ''); print(torch.__version__)"
  OUTPUT_VARIABLE _torch_info
  RESULT_VARIABLE _torch_rc
  ERROR_VARIABLE _torch_err
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _torch_rc EQUAL 0)
  message(FATAL_ERROR
    "IntrinsiX builds against the installed torch, and '${Python3_EXECUTABLE}' cannot import it:\n"
    "${_torch_err}\n"
    "Install torch first (CPU: pip install torch==2.13.0), then build with "
    "'pip install --no-build-isolation .' so that no isolated environment fetches another torch.")
endif()
string(REPLACE "\n" ";" _torch_info "${_torch_info}")
list(GET _torch_info 0 TORCH_ROOT)
list(GET _torch_info 1 TORCH_CXX11_ABI)
list(LENGTH _torch_info _n)
set(TORCH_CUDA_VERSION "")
if(_n GREATER 3)
  list(GET _torch_info 2 TORCH_CUDA_VERSION)
  list(GET _torch_info 3 TORCH_VERSION)
else()
  list(GET _torch_info 2 TORCH_VERSION)
endif()
message(STATUS "torch ${TORCH_VERSION} at ${TORCH_ROOT} (CUDA: '${TORCH_CUDA_VERSION}', cxx11 ABI: ${TORCH_CXX11_ABI})")

add_library(intrinsix_torch INTERFACE)
target_include_directories(intrinsix_torch SYSTEM INTERFACE
  "${TORCH_ROOT}/include" "${TORCH_ROOT}/include/torch/csrc/api/include")
target_compile_definitions(intrinsix_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=${TORCH_CXX11_ABI})
target_link_libraries(intrinsix_torch INTERFACE
  "${TORCH_ROOT}/lib/libc10.so" "${TORCH_ROOT}/lib/libtorch_cpu.so")
# The library is loaded by torch.ops.load_library after torch is imported, so torch's libraries
# are already in the process; the rpath only helps tools such as ldd.
set(CMAKE_INSTALL_RPATH "${TORCH_ROOT}/lib")
set(CMAKE_BUILD_RPATH "${TORCH_ROOT}/lib")

set(INTRINSIX_WITH_CUDA OFF)
if(NOT INTRINSIX_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(TORCH_CUDA_VERSION AND CMAKE_CUDA_COMPILER)
    set(INTRINSIX_WITH_CUDA ON)
  elseif(INTRINSIX_CUDA STREQUAL "ON")
    message(FATAL_ERROR "INTRINSIX_CUDA=ON but the installed torch has no CUDA "
      "(torch.version.cuda='${TORCH_CUDA_VERSION}') or no CUDA compiler was found "
      "(CMAKE_CUDA_COMPILER='${CMAKE_CUDA_COMPILER}').")
  endif()
endif()
message(STATUS "IntrinsiX kernels: CUDA ${INTRINSIX_WITH_CUDA}")

if(INTRINSIX_WITH_CUDA)
  find_package(CUDAToolkit REQUIRED)
  add_library(intrinsix_torch_cuda INTERFACE)
  target_link_libraries(intrinsix_torch_cuda INTERFACE
    "${TORCH_ROOT}/lib/libc10_cuda.so" "${TORCH_ROOT}/lib/libtorch_cuda.so" CUDA::cudart)
endif()
