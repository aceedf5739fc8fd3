#include "cuda_check.h"
#include "sample_lights.h"

namespace intrinsix {

// One thread per light: a binary search over the image's prefix sums (log2(H W) reads) and a few
// vector operations. Lights are few (5 per training step), so this is latency, not throughput.
__global__ void sample_lights_kernel(SampleLightsParams p) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= int64_t(p.batch) * p.num_lights) return;
  sample_one_light(p, i / p.num_lights, i % p.num_lights);
}

void sample_lights_cuda(const SampleLightsParams& p, void* stream) {
  const int64_t total = int64_t(p.batch) * p.num_lights;
  if (total == 0) return;
  sample_lights_kernel<<<blocks_for(total, 128), 128, 0, static_cast<cudaStream_t>(stream)>>>(p);
  check_cuda_launch("sample_lights_kernel");
}

}  // namespace intrinsix
