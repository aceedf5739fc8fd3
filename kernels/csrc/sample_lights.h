// sample_lights: IntrinsiX importance-weighted light sampling (REFERENCE.md section 3).
//
// Per image, one pixel per light is drawn with probability proportional to its pick weight
// (1 - roughness, see the binding), by inverting the per-image inclusive prefix sum `cdf` of the
// weights with a uniform number u in [0, 1):
//   pixel = number of cdf entries <= u * cdf[last]
// (exactly torch.searchsorted(cdf, u * total, right=True); zero-weight pixels are never picked).
// The light direction is the mirror direction l = 2 n (n.v) - v of that pixel's normal n and view
// vector v (both normalised), so that the pixel sees the light's peak highlight (n.h = 1).
#pragma once

#include "common.h"

namespace intrinsix {

struct SampleLightsParams {
  const double* cdf;    // [B, P] inclusive prefix sum of the pick weights per image, P = H * W
  const float* u;       // [B, N] uniform numbers in [0, 1), one per light
  const float* normal;  // [B, P, 3] camera-space normals (OpenGL: +x right, +y up, +z to the viewer)
  const float* view;    // [B, P, 3] camera-space vectors toward the camera, or null: pinhole_view
  float* direction;     // [B, N, 3] unit light directions, from the surface toward the light
  int64_t* pixel;       // [B, N, 2] picked (row, column)
  int batch;            // B
  int num_lights;       // N
  int height, width;    // H, W
  float tan_half_fov_x, tan_half_fov_y;  // default pinhole camera (common.h pinhole_view)
};

// Index of the first cdf entry greater than `target` (an upper bound), clamped to count - 1.
HOST_DEVICE int64_t search_cdf(const double* cdf, int64_t count, double target) {
  int64_t lo = 0, hi = count;  // answer in [lo, hi]
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (cdf[mid] <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo < count ? lo : count - 1;
}

// l = 2 n (n.v) - v with n and v normalised, then normalised again against rounding.
HOST_DEVICE Vec3 mirror_direction(Vec3 normal, Vec3 view) {
  const Vec3 n = normalize(normal), v = normalize(view);
  return normalize(n * (2.f * dot(n, v)) - v);
}

// Light k of image b: picks the pixel and writes pixel and direction.
HOST_DEVICE void sample_one_light(const SampleLightsParams& p, int64_t b, int64_t k) {
  const int64_t num_pixels = int64_t(p.height) * p.width;
  const double* cdf = p.cdf + b * num_pixels;
  const int64_t light = b * p.num_lights + k;
  const double target = double(p.u[light]) * cdf[num_pixels - 1];
  const int64_t picked = search_cdf(cdf, num_pixels, target);
  const int64_t row = picked / p.width, col = picked - row * p.width;
  const int64_t at = b * num_pixels + picked;
  const Vec3 n = make_vec3(p.normal[3 * at], p.normal[3 * at + 1], p.normal[3 * at + 2]);
  const Vec3 v = p.view ? make_vec3(p.view[3 * at], p.view[3 * at + 1], p.view[3 * at + 2])
                        : pinhole_view(int(row), int(col), p.height, p.width, p.tan_half_fov_x, p.tan_half_fov_y);
  const Vec3 l = mirror_direction(n, v);
  p.direction[3 * light] = l.x;
  p.direction[3 * light + 1] = l.y;
  p.direction[3 * light + 2] = l.z;
  p.pixel[2 * light] = row;
  p.pixel[2 * light + 1] = col;
}

void sample_lights_cpu(const SampleLightsParams& p);
void sample_lights_cuda(const SampleLightsParams& p, void* stream);

}  // namespace intrinsix
