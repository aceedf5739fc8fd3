#include "shade.h"

#include <ATen/Parallel.h>

namespace intrinsix {
namespace {

template <int kBrdf, bool kBackward, bool kEnv>
void shade_cpu(const ShadeParams& p) {
  const int64_t num_pixels = int64_t(p.batch) * p.height * p.width;
  // A pixel costs from ~100 flops (one directional light) to ~10^4 (environment samples): small
  // grains keep both cores busy when the image is small.
  at::parallel_for(0, num_pixels, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) shade_math::shade_pixel<kBrdf, kBackward, kEnv>(p, i);
  });
}

template <bool kBackward>
void dispatch(const ShadeParams& p) {
  using namespace shade_math;
  const bool env = p.num_env_maps > 0;
  if (p.brdf == kBrdfDisney) {
    env ? shade_cpu<kBrdfDisney, kBackward, true>(p) : shade_cpu<kBrdfDisney, kBackward, false>(p);
  } else {
    env ? shade_cpu<kBrdfGgx, kBackward, true>(p) : shade_cpu<kBrdfGgx, kBackward, false>(p);
  }
}

}  // namespace

void shade_fwd_cpu(const ShadeParams& p) { dispatch<false>(p); }
void shade_bwd_cpu(const ShadeParams& p) { dispatch<true>(p); }

}  // namespace intrinsix
