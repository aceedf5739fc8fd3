# Build options; each may come from the CMake cache or from an environment variable of the same name.
function(intrinsix_option name default doc)
  if(DEFINED ENV{${name}} AND NOT DEFINED CACHE{${name}})
    set(${name} "$ENV{${name}}" CACHE STRING "${doc}")
  else()
    set(${name} "${default}" CACHE STRING "${doc}")
  endif()
endfunction()

intrinsix_option(INTRINSIX_CUDA "AUTO" "Build the CUDA kernels: AUTO, ON or OFF")
intrinsix_option(INTRINSIX_CUDA_ARCHS "80;90" "CUDA architectures for the kernels")
intrinsix_option(INTRINSIX_CUDA_CHECK "OFF" "Compile the .cu files even for a CPU-only extension")
set_property(CACHE INTRINSIX_CUDA PROPERTY STRINGS AUTO ON OFF)

if(NOT INTRINSIX_CUDA MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "INTRINSIX_CUDA must be AUTO, ON or OFF, got '${INTRINSIX_CUDA}'")
endif()
