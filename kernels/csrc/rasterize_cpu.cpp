#include "rasterize.h"

#include <ATen/Parallel.h>

#include <algorithm>

namespace intrinsix {

namespace {

// All triangles of one image, in order, into that image's key buffer (no atomics needed).
void rasterize_image(const RasterizeParams& p, int b) {
  unsigned long long* keys = p.depth_keys + int64_t(b) * p.height * p.width;
  for (int f = 0; f < p.num_triangles; ++f) {
    for_each_sub_triangle(p, b, f, [&](const LargeTriangle& t) {
      for (int py = t.min_py; py <= t.max_py; ++py) {
        for (int px = t.min_px; px <= t.max_px; ++px) {
          float depth;
          if (!covers_pixel(t, px, py, depth)) continue;
          const unsigned long long key = depth_key(depth, f);
          unsigned long long& slot = keys[int64_t(py) * p.width + px];
          if (key < slot) slot = key;
        }
      }
    });
  }
}

}  // namespace

void rasterize_cpu(const RasterizeParams& p) {
  const int64_t pixels = int64_t(p.batch) * p.height * p.width;
  std::fill(p.depth_keys, p.depth_keys + pixels, kEmptyKey);
  // Images are independent: one task per image. Within an image the serial triangle loop gives
  // the same result as the GPU's atomic min, since the min over keys does not depend on order.
  at::parallel_for(0, p.batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) rasterize_image(p, int(b));
  });
  const int64_t pixels_per_image = int64_t(p.height) * p.width;
  at::parallel_for(0, int64_t(p.batch) * pixels_per_image, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int b = int(i / pixels_per_image);
      const int64_t in_image = i - b * pixels_per_image;
      resolve_pixel(p, b, int(in_image % p.width), int(in_image / p.width), p.depth_keys[i], p.rast + i * 4);
    }
  });
}

}  // namespace intrinsix
