#include "cuda_check.h"
#include "texture.h"

namespace intrinsix {

// One thread per pixel: the taps (and the level-of-detail math) are computed once and reused for
// every channel; textures have few channels (1 to 4 typically).
__global__ void texture_fwd_kernel(TextureParams p) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= int64_t(p.batch) * p.num_pixels) return;
  const TextureTaps t = texture_taps(p, i);
  const float* tex = p.tex + (i / p.num_pixels) * p.tex_batch_stride;
  float* o = p.out + i * p.num_channels;
  for (int c = 0; c < p.num_channels; ++c) {
    float acc = 0.f;
#pragma unroll
    for (int k = 0; k < kTextureMaxTaps; ++k) {
      if (k >= t.count) break;
      acc += t.weight[k] * __ldg(tex + t.index[k] * p.num_channels + c);
    }
    o[c] = acc;
  }
}

__global__ void texture_bwd_kernel(TextureParams p) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= int64_t(p.batch) * p.num_pixels) return;
  const TextureTaps t = texture_taps(p, i);
  const int nc = p.num_channels;
  const float* tex = p.tex + (i / p.num_pixels) * p.tex_batch_stride;
  const float* g = p.grad_out + i * nc;
  if (p.grad_uv) {
    float gu = 0.f, gv = 0.f;
#pragma unroll
    for (int k = 0; k < kTextureMaxTaps; ++k) {
      if (k >= t.count) break;
      const float* texel = tex + t.index[k] * nc;
      float g_dot_texel = 0.f;
      for (int c = 0; c < nc; ++c) g_dot_texel += g[c] * __ldg(texel + c);
      gu += t.du[k] * g_dot_texel;
      gv += t.dv[k] * g_dot_texel;
    }
    p.grad_uv[2 * i] = gu;
    p.grad_uv[2 * i + 1] = gv;
  }
  if (p.grad_tex) {
    float* gt = p.grad_tex + (i / p.num_pixels) * p.tex_batch_stride;
#pragma unroll
    for (int k = 0; k < kTextureMaxTaps; ++k) {
      if (k >= t.count) break;
      if (t.weight[k] == 0.f) continue;
      float* texel = gt + t.index[k] * nc;
      for (int c = 0; c < nc; ++c) {
        const float contribution = t.weight[k] * g[c];
        if (contribution != 0.f) atomicAdd(texel + c, contribution);
      }
    }
  }
}

void texture_fwd_cuda(const TextureParams& p, void* stream) {
  const int64_t total = int64_t(p.batch) * p.num_pixels;
  if (total == 0) return;
  texture_fwd_kernel<<<blocks_for(total, 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(p);
  check_cuda_launch("texture_fwd_kernel");
}

void texture_bwd_cuda(const TextureParams& p, void* stream) {
  const int64_t total = int64_t(p.batch) * p.num_pixels;
  if (total == 0) return;
  texture_bwd_kernel<<<blocks_for(total, 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(p);
  check_cuda_launch("texture_bwd_kernel");
}

}  // namespace intrinsix
