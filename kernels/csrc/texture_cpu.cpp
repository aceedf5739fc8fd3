#include "texture.h"

#include <ATen/Parallel.h>

namespace intrinsix {

void texture_fwd_cpu(const TextureParams& p) {
  const int64_t total = int64_t(p.batch) * p.num_pixels;
  const int nc = p.num_channels;
  at::parallel_for(0, total, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const TextureTaps t = texture_taps(p, i);
      const float* tex = p.tex + (i / p.num_pixels) * p.tex_batch_stride;
      float* o = p.out + i * nc;
      for (int c = 0; c < nc; ++c) o[c] = 0.f;
      for (int k = 0; k < t.count; ++k) {
        const float* texel = tex + t.index[k] * nc;
        for (int c = 0; c < nc; ++c) o[c] += t.weight[k] * texel[c];
      }
    }
  });
}

// grad_uv needs no accumulation across pixels and runs in parallel; the scatter-add into grad_tex
// is a serial loop (many pixels share a texel), which keeps it deterministic. The CUDA version
// uses atomics.
void texture_bwd_cpu(const TextureParams& p) {
  const int64_t total = int64_t(p.batch) * p.num_pixels;
  const int nc = p.num_channels;
  if (p.grad_uv) {
    at::parallel_for(0, total, 1024, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const TextureTaps t = texture_taps(p, i);
        const float* tex = p.tex + (i / p.num_pixels) * p.tex_batch_stride;
        const float* g = p.grad_out + i * nc;
        float gu = 0.f, gv = 0.f;
        for (int k = 0; k < t.count; ++k) {
          const float* texel = tex + t.index[k] * nc;
          float g_dot_texel = 0.f;
          for (int c = 0; c < nc; ++c) g_dot_texel += g[c] * texel[c];
          gu += t.du[k] * g_dot_texel;
          gv += t.dv[k] * g_dot_texel;
        }
        p.grad_uv[2 * i] = gu;
        p.grad_uv[2 * i + 1] = gv;
      }
    });
  }
  if (p.grad_tex) {
    for (int64_t i = 0; i < total; ++i) {
      const TextureTaps t = texture_taps(p, i);
      float* gt = p.grad_tex + (i / p.num_pixels) * p.tex_batch_stride;
      const float* g = p.grad_out + i * nc;
      for (int k = 0; k < t.count; ++k) {
        if (t.weight[k] == 0.f) continue;
        float* texel = gt + t.index[k] * nc;
        for (int c = 0; c < nc; ++c) texel[c] += t.weight[k] * g[c];
      }
    }
  }
}

}  // namespace intrinsix
