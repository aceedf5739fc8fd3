#include "sample_lights.h"

#include <ATen/Parallel.h>

namespace intrinsix {

void sample_lights_cpu(const SampleLightsParams& p) {
  const int64_t total = int64_t(p.batch) * p.num_lights;
  at::parallel_for(0, total, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) sample_one_light(p, i / p.num_lights, i % p.num_lights);
  });
}

}  // namespace intrinsix
