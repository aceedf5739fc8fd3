#include "cuda_check.h"
#include "shade.h"

namespace intrinsix {
namespace {

// One thread per pixel; lights and environment samples are looped in registers, the per-pixel
// gradients are written once (no atomics). The surface maps are [B, H, W, C] rows, so a warp
// reads and writes contiguous 12-byte records (coalesced). Calls without environment maps use a
// lighter instantiation (kEnv = false) with fewer registers, hence more warps to hide latency.
constexpr int kForwardThreads = 256;
constexpr int kBackwardThreads = 128;

template <int kBrdf, bool kEnv>
__global__ void __launch_bounds__(kForwardThreads) shade_fwd_kernel(ShadeParams p) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= int64_t(p.batch) * p.height * p.width) return;
  shade_math::shade_pixel<kBrdf, false, kEnv>(p, i);
}

template <int kBrdf, bool kEnv>
__global__ void __launch_bounds__(kBackwardThreads) shade_bwd_kernel(ShadeParams p) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= int64_t(p.batch) * p.height * p.width) return;
  shade_math::shade_pixel<kBrdf, true, kEnv>(p, i);
}

template <int kBrdf, bool kEnv>
void launch(const ShadeParams& p, bool backward, cudaStream_t stream) {
  const int64_t n = int64_t(p.batch) * p.height * p.width;
  if (backward) {
    shade_bwd_kernel<kBrdf, kEnv><<<blocks_for(n, kBackwardThreads), kBackwardThreads, 0, stream>>>(p);
    check_cuda_launch("shade_bwd_kernel");
  } else {
    shade_fwd_kernel<kBrdf, kEnv><<<blocks_for(n, kForwardThreads), kForwardThreads, 0, stream>>>(p);
    check_cuda_launch("shade_fwd_kernel");
  }
}

void dispatch(const ShadeParams& p, bool backward, void* stream) {
  using namespace shade_math;
  if (int64_t(p.batch) * p.height * p.width == 0) return;
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  const bool env = p.num_env_maps > 0;
  if (p.brdf == kBrdfDisney) {
    env ? launch<kBrdfDisney, true>(p, backward, s) : launch<kBrdfDisney, false>(p, backward, s);
  } else {
    env ? launch<kBrdfGgx, true>(p, backward, s) : launch<kBrdfGgx, false>(p, backward, s);
  }
}

}  // namespace

void shade_fwd_cuda(const ShadeParams& p, void* stream) { dispatch(p, false, stream); }
void shade_bwd_cuda(const ShadeParams& p, void* stream) { dispatch(p, true, stream); }

}  // namespace intrinsix
