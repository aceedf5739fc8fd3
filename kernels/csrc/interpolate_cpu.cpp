#include "interpolate.h"

#include <ATen/Parallel.h>

namespace intrinsix {

void interpolate_fwd_cpu(const InterpolateParams& p) {
  const int64_t num_pixels = int64_t(p.batch) * p.height * p.width;
  const int64_t pixels_per_image = int64_t(p.height) * p.width;
  at::parallel_for(0, num_pixels, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* r = p.rast + i * 4;
      float* o = p.out + i * p.num_channels;
      const int t = pixel_triangle(r, p.num_triangles);
      if (t < 0) {
        for (int c = 0; c < p.num_channels; ++c) o[c] = 0.f;
        continue;
      }
      const float* a = p.attr + (i / pixels_per_image) * p.attr_batch_stride;
      const float* a0 = a + int64_t(p.tri[3 * t + 0]) * p.num_channels;
      const float* a1 = a + int64_t(p.tri[3 * t + 1]) * p.num_channels;
      const float* a2 = a + int64_t(p.tri[3 * t + 2]) * p.num_channels;
      const float u = r[0], v = r[1], w = 1.f - r[0] - r[1];
      for (int c = 0; c < p.num_channels; ++c) o[c] = u * a0[c] + v * a1[c] + w * a2[c];
    }
  });
}

// Scatter-add of the cotangent into the vertices. Serial: many pixels hit one vertex, and a serial
// loop is deterministic; the CUDA version uses atomics.
void interpolate_bwd_cpu(const InterpolateParams& p) {
  const int64_t num_pixels = int64_t(p.batch) * p.height * p.width;
  const int64_t pixels_per_image = int64_t(p.height) * p.width;
  for (int64_t i = 0; i < num_pixels; ++i) {
    const float* r = p.rast + i * 4;
    const int t = pixel_triangle(r, p.num_triangles);
    if (t < 0) continue;
    const float* g = p.grad_out + i * p.num_channels;
    float* ga = p.grad_attr + (i / pixels_per_image) * p.attr_batch_stride;
    const float w[3] = {r[0], r[1], 1.f - r[0] - r[1]};
    for (int k = 0; k < 3; ++k) {
      float* gv = ga + int64_t(p.tri[3 * t + k]) * p.num_channels;
      for (int c = 0; c < p.num_channels; ++c) gv[c] += w[k] * g[c];
    }
  }
}

}  // namespace intrinsix
