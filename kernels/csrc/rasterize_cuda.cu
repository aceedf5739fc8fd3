#include "cuda_check.h"
#include "rasterize.h"

namespace intrinsix {

namespace {

constexpr int kSetupThreads = 128;
constexpr int kLargeThreads = 256;
constexpr int kLargeBlocks = 1024;  // persistent blocks that drain the large-triangle queue
constexpr int kResolveThreads = 256;

__device__ __forceinline__ void raster_inline(const RasterizeParams& p, const LargeTriangle& t) {
  unsigned long long* keys = p.depth_keys + int64_t(t.image) * p.height * p.width;
  for (int py = t.min_py; py <= t.max_py; ++py) {
    for (int px = t.min_px; px <= t.max_px; ++px) {
      float depth;
      if (covers_pixel(t, px, py, depth)) {
        atomicMin(keys + int64_t(py) * p.width + px, depth_key(depth, t.triangle));
      }
    }
  }
}

// One thread per (image, triangle): setup, clipping, and pixel tests for small sub-triangles;
// large ones go to a queue that whole blocks rasterize (load balance for walls and floors).
__global__ void setup_raster_kernel(RasterizeParams p) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= int64_t(p.batch) * p.num_triangles) return;
  const int b = int(idx / p.num_triangles);
  const int f = int(idx - int64_t(b) * p.num_triangles);
  for_each_sub_triangle(p, b, f, [&](const LargeTriangle& t) {
    const int pixels = (t.max_px - t.min_px + 1) * (t.max_py - t.min_py + 1);
    if (pixels > kSmallTrianglePixels) {
      const int slot = atomicAdd(p.large_count, 1);
      if (slot < p.large_capacity) {
        p.large_queue[slot] = t;
        return;
      }
    }
    raster_inline(p, t);  // small, or the queue is full (correct, only slower)
  });
}

__global__ void large_raster_kernel(RasterizeParams p) {
  __shared__ LargeTriangle t;
  const int count = min(*p.large_count, p.large_capacity);
  for (int q = blockIdx.x; q < count; q += gridDim.x) {
    __syncthreads();
    if (threadIdx.x == 0) t = p.large_queue[q];
    __syncthreads();
    const int bw = t.max_px - t.min_px + 1;
    const int pixels = bw * (t.max_py - t.min_py + 1);
    unsigned long long* keys = p.depth_keys + int64_t(t.image) * p.height * p.width;
    for (int i = threadIdx.x; i < pixels; i += blockDim.x) {
      const int py = t.min_py + i / bw, px = t.min_px + i % bw;
      float depth;
      if (covers_pixel(t, px, py, depth)) {
        atomicMin(keys + int64_t(py) * p.width + px, depth_key(depth, t.triangle));
      }
    }
  }
}

__global__ void resolve_kernel(RasterizeParams p) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t pixels_per_image = int64_t(p.height) * p.width;
  if (i >= p.batch * pixels_per_image) return;
  const int b = int(i / pixels_per_image);
  const int64_t in_image = i - b * pixels_per_image;
  float out[4];
  resolve_pixel(p, b, int(in_image % p.width), int(in_image / p.width), p.depth_keys[i], out);
  reinterpret_cast<float4*>(p.rast)[i] = make_float4(out[0], out[1], out[2], out[3]);
}

}  // namespace

void rasterize_cuda(const RasterizeParams& p, void* stream_ptr) {
  const cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  const int64_t pixels = int64_t(p.batch) * p.height * p.width;
  if (pixels == 0) return;
  check_cuda(cudaMemsetAsync(p.depth_keys, 0xff, pixels * sizeof(unsigned long long), stream), "clearing depth keys");
  check_cuda(cudaMemsetAsync(p.large_count, 0, sizeof(int), stream), "clearing the large-triangle count");
  const int64_t setups = int64_t(p.batch) * p.num_triangles;
  if (setups > 0) {
    setup_raster_kernel<<<blocks_for(setups, kSetupThreads), kSetupThreads, 0, stream>>>(p);
    check_cuda_launch("setup_raster_kernel");
    large_raster_kernel<<<kLargeBlocks, kLargeThreads, 0, stream>>>(p);
    check_cuda_launch("large_raster_kernel");
  }
  resolve_kernel<<<blocks_for(pixels, kResolveThreads), kResolveThreads, 0, stream>>>(p);
  check_cuda_launch("resolve_kernel");
}

}  // namespace intrinsix
