// interpolate: per-pixel attributes from the rasterizer's barycentrics.
//   out[b, y, x, c] = u * attr[t0, c] + v * attr[t1, c] + (1 - u - v) * attr[t2, c]
// for the triangle (t0, t1, t2) = tri[id - 1] named by rast[b, y, x, 3] = id; 0 (empty) -> 0.
#pragma once

#include "common.h"

namespace intrinsix {

struct InterpolateParams {
  const float* attr;     // [A, V, C] vertex attributes, A = batch or 1 (shared by all images)
  const float* rast;     // [B, H, W, 4] rasterizer output (u, v, z/w, triangle id + 1)
  const int32_t* tri;    // [F, 3] vertex indices
  float* out;            // [B, H, W, C] interpolated attributes (forward)
  const float* grad_out; // [B, H, W, C] cotangent of out (backward)
  float* grad_attr;      // [A, V, C] accumulated gradient of attr (backward, zero-initialised)
  int batch;             // B
  int height, width;     // H, W
  int num_vertices;      // V
  int num_channels;      // C
  int num_triangles;     // F
  int64_t attr_batch_stride;  // V * C if attr is per image, 0 if shared
};

// Triangle of a pixel, or -1 if the pixel is empty or the id is out of range.
HOST_DEVICE int pixel_triangle(const float* rast_px, int num_triangles) {
  const int id = int(rast_px[3]) - 1;
  return (id >= 0 && id < num_triangles) ? id : -1;
}

void interpolate_fwd_cpu(const InterpolateParams& p);
void interpolate_bwd_cpu(const InterpolateParams& p);
void interpolate_fwd_cuda(const InterpolateParams& p, void* stream);
void interpolate_bwd_cuda(const InterpolateParams& p, void* stream);

}  // namespace intrinsix
