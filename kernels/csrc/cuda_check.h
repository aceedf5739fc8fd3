// Error checking for the CUDA launchers (nvcc only). A failed launch throws std::runtime_error,
// which torch turns into a Python RuntimeError naming the kernel.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace intrinsix {

inline void check_cuda_launch(const char* kernel_name) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string("intrinsix: CUDA launch of ") + kernel_name +
                             " failed: " + cudaGetErrorString(err));
  }
}

inline void check_cuda(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string("intrinsix: ") + what + " failed: " + cudaGetErrorString(err));
  }
}

inline unsigned int blocks_for(int64_t n, int threads) {
  return static_cast<unsigned int>((n + threads - 1) / threads);
}

}  // namespace intrinsix
