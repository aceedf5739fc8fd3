#include "cuda_check.h"
#include "interpolate.h"

namespace intrinsix {

// One thread per (pixel, channel): coalesced stores for any C, and the three vertex reads of one
// pixel hit the same cache lines for consecutive channels.
__global__ void interpolate_fwd_kernel(InterpolateParams p) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t total = int64_t(p.batch) * p.height * p.width * p.num_channels;
  if (idx >= total) return;
  const int64_t pixel = idx / p.num_channels;
  const int c = int(idx - pixel * p.num_channels);
  const float4 r = reinterpret_cast<const float4*>(p.rast)[pixel];
  const int t = (int(r.w) >= 1 && int(r.w) <= p.num_triangles) ? int(r.w) - 1 : -1;
  if (t < 0) {
    p.out[idx] = 0.f;
    return;
  }
  const float* a = p.attr + (pixel / (int64_t(p.height) * p.width)) * p.attr_batch_stride + c;
  const float a0 = __ldg(a + int64_t(__ldg(p.tri + 3 * t + 0)) * p.num_channels);
  const float a1 = __ldg(a + int64_t(__ldg(p.tri + 3 * t + 1)) * p.num_channels);
  const float a2 = __ldg(a + int64_t(__ldg(p.tri + 3 * t + 2)) * p.num_channels);
  p.out[idx] = r.x * a0 + r.y * a1 + (1.f - r.x - r.y) * a2;
}

__global__ void interpolate_bwd_kernel(InterpolateParams p) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t total = int64_t(p.batch) * p.height * p.width * p.num_channels;
  if (idx >= total) return;
  const int64_t pixel = idx / p.num_channels;
  const int c = int(idx - pixel * p.num_channels);
  const float4 r = reinterpret_cast<const float4*>(p.rast)[pixel];
  const int t = (int(r.w) >= 1 && int(r.w) <= p.num_triangles) ? int(r.w) - 1 : -1;
  if (t < 0) return;
  const float g = p.grad_out[idx];
  if (g == 0.f) return;
  float* ga = p.grad_attr + (pixel / (int64_t(p.height) * p.width)) * p.attr_batch_stride + c;
  atomicAdd(ga + int64_t(p.tri[3 * t + 0]) * p.num_channels, r.x * g);
  atomicAdd(ga + int64_t(p.tri[3 * t + 1]) * p.num_channels, r.y * g);
  atomicAdd(ga + int64_t(p.tri[3 * t + 2]) * p.num_channels, (1.f - r.x - r.y) * g);
}

void interpolate_fwd_cuda(const InterpolateParams& p, void* stream) {
  const int64_t total = int64_t(p.batch) * p.height * p.width * p.num_channels;
  if (total == 0) return;
  interpolate_fwd_kernel<<<blocks_for(total, 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(p);
  check_cuda_launch("interpolate_fwd_kernel");
}

void interpolate_bwd_cuda(const InterpolateParams& p, void* stream) {
  const int64_t total = int64_t(p.batch) * p.height * p.width * p.num_channels;
  if (total == 0) return;
  interpolate_bwd_kernel<<<blocks_for(total, 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(p);
  check_cuda_launch("interpolate_bwd_kernel");
}

}  // namespace intrinsix
