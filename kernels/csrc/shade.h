// shade: per-pixel physically based shading of albedo / roughness / metallic / normal maps under
// directional lights, point lights and environment maps (REFERENCE.md section 4).
//
//   diffuse[b, y, x]  = sum over lights of  L_i * f_d(l_i) * max(n.l_i, 0)
//   specular[b, y, x] = sum over lights of  L_i * f_s(l_i) * max(n.l_i, 0)
//
// Environment maps are integrated by Monte Carlo: `samples` iterations, each drawing one BRDF-lobe
// sample (specular lobe with probability kS: GGX visible normals; else cosine hemisphere) and one
// environment sample (texel from the luminance * sin(theta) CDF tables, uniform inside the
// texel), combined with the BALANCE heuristic. With one sample of each technique per iteration the
// balance heuristic reduces to
//   estimate = 1/N sum_k sum_{l in {l_brdf, l_env}} f(l) L(l) max(n.l, 0) / max(p_brdf(l) + p_env(l), 1e-3).
// The gradient treats directions, densities and MIS weights as constants and differentiates f
// (and max(n.l, 0)) only. Why that is unbiased for the gradient of the integral: the domain is
// fixed and the integrand continuous in the inputs, so d/dtheta int(f L cos) = int(d/dtheta[f cos] L), and the
// MIS estimator with ANY fixed densities covering the support is unbiased for that integral too;
// the densities of the current theta are such a fixed pair. (Differentiating through the sampling
// would not help: lobe choice and CDF search are discontinuous.) docs/kernels/shade.md has more.
//
// All random numbers: random_uniform(env.seed, pixel, sample, dim) of common.h with
//   dim 0 lobe choice, 1-2 lobe direction, 3 texel row, 4 texel column, 5-6 position in the texel.
#pragma once

#include "brdf.h"
#include "common.h"

namespace intrinsix {

constexpr int kShadeMaxEnvMaps = 4;

// One environment map and its importance-sampling tables (built by kernels/lights.py).
// Equirectangular, +y up: texel row i covers theta = acos(d.y) in [i, i+1] * pi / He (row 0 at the
// top), column j covers u = 0.5 + atan2(d.x, -d.z) / (2 pi) in [j, j+1] / We, so the image centre
// looks down -z of the environment frame and u grows toward +x.
struct ShadeEnvMap {
  const float* texels;       // [He, We, 4] linear RGB radiance and the texel probability P (sums to 1)
  const float* marginal;     // [He] inclusive CDF over rows, last entry exactly 1
  const float* conditional;  // [He, We] inclusive CDF over the columns of each row, last entry 1
  int height, width;         // He, We
  int samples;               // MC iterations per pixel (each: one BRDF and one environment sample)
  uint32_t seed;             // random stream of this map
  float rotation[9];         // row-major R: direction in the environment frame = R * camera direction
};

struct ShadeParams {
  // Surface maps, [B, H, W, C] contiguous float32.
  const float* albedo;     // [B, H, W, 3] linear, [0, 1]
  const float* roughness;  // [B, H, W, 1] [0, 1]
  const float* metallic;   // [B, H, W, 1] [0, 1]
  const float* normal;     // [B, H, W, 3] camera space (OpenGL), any length; zero length = empty pixel
  const float* view;       // [B, H, W, 3] unit, toward the camera; nullptr: pinhole camera below
  const float* position;   // [B, H, W, 3] camera space surface points (needed by point lights) or nullptr
  const float* mask;       // [B, H, W, 1] output weight, 0 = skip the pixel; nullptr = all ones
  int batch, height, width;
  // Pinhole camera at the origin looking down -z (used when view == nullptr): pixel (row, col)
  // centre at ((2 (col + 0.5) / W - 1) tan_x, (2 (row + 0.5) / H - 1) tan_y, -1); row 0 is the
  // bottom row (y_ndc = -1), as in the rasterizer's (nvdiffrast's) images and sample_lights.
  float tan_half_fov_x, tan_half_fov_y;
  int brdf;  // shade_math::kBrdfDisney or kBrdfGgx

  // Light arrays are [Bl, L, 3] with Bl = B (per image) or 1 (shared by the batch).
  int num_directional;                 // L
  bool directional_shared;             // Bl == 1
  const float* directional_direction;  // [Bl, L, 3] unit, surface toward the light, camera space
  const float* directional_radiance;   // [Bl, L, 3] linear RGB radiance (irradiance at normal incidence)
  int num_point;                       // P
  bool point_shared;                   // Bl == 1
  const float* point_position;         // [Bl, P, 3] camera space
  const float* point_intensity;        // [Bl, P, 3] linear RGB radiant intensity; irradiance = I / d^2
  int num_env_maps;                    // at most kShadeMaxEnvMaps
  ShadeEnvMap env_maps[kShadeMaxEnvMaps];

  // forward outputs
  float* diffuse;   // [B, H, W, 3]
  float* specular;  // [B, H, W, 3]
  // backward: cotangents in, per-pixel gradients out (no accumulation across pixels)
  const float* grad_diffuse;   // [B, H, W, 3]
  const float* grad_specular;  // [B, H, W, 3]
  float* grad_albedo;          // [B, H, W, 3]
  float* grad_roughness;       // [B, H, W, 1]
  float* grad_metallic;        // [B, H, W, 1]
  float* grad_normal;          // [B, H, W, 3] with respect to the unnormalised input normal
};

void shade_fwd_cpu(const ShadeParams& p);
void shade_bwd_cpu(const ShadeParams& p);
void shade_fwd_cuda(const ShadeParams& p, void* stream);
void shade_bwd_cuda(const ShadeParams& p, void* stream);

namespace shade_math {

// random_uniform(seed, pixel, sample, dim) of common.h with the per-pixel half of the hash hoisted.
struct PixelRandom {
  uint32_t key;
  HOST_DEVICE PixelRandom(uint32_t seed, uint32_t pixel) : key(pcg_hash(seed ^ pcg_hash(pixel))) {}
  HOST_DEVICE float operator()(uint32_t sample, uint32_t dim) const {
    const uint32_t h = pcg_hash(key ^ pcg_hash(sample * 16u + dim));
    return float(h >> 8) * (1.0f / 16777216.0f);
  }
};

HOST_DEVICE Vec3 load3(const float* p, int64_t i) { return make_vec3(p[3 * i], p[3 * i + 1], p[3 * i + 2]); }
HOST_DEVICE void store3(float* p, int64_t i, Vec3 v) {
  p[3 * i] = v.x;
  p[3 * i + 1] = v.y;
  p[3 * i + 2] = v.z;
}

HOST_DEVICE Vec3 rotate(const float* r, Vec3 d) {
  return make_vec3(r[0] * d.x + r[1] * d.y + r[2] * d.z, r[3] * d.x + r[4] * d.y + r[5] * d.z,
                   r[6] * d.x + r[7] * d.y + r[8] * d.z);
}
HOST_DEVICE Vec3 rotate_transposed(const float* r, Vec3 d) {
  return make_vec3(r[0] * d.x + r[3] * d.y + r[6] * d.z, r[1] * d.x + r[4] * d.y + r[7] * d.z,
                   r[2] * d.x + r[5] * d.y + r[8] * d.z);
}

// First index whose CDF value is > xi (std::upper_bound / torch.searchsorted(right=True)),
// clamped to n - 1.
HOST_DEVICE int cdf_search(const float* cdf, int n, float xi) {
  int lo = 0, hi = n;
  while (lo < hi) {
    const int mid = (lo + hi) >> 1;
    if (xi < cdf[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo < n ? lo : n - 1;
}

// Texel of an environment-frame direction and sin(theta) there.
HOST_DEVICE int env_texel(const ShadeEnvMap& e, Vec3 d, float* sin_theta) {
  const float st = sqrtf(d.x * d.x + d.z * d.z);
  const float theta = atan2_poly(st, d.y);
  const float phi = atan2_poly(d.x, -d.z);
  const float u = phi * kInvTwoPi + 0.5f;
  const float v = theta * kInvPi;
  int col = int(floorf(u * float(e.width)));
  col = col >= e.width ? col - e.width : (col < 0 ? 0 : col);
  int row = int(floorf(v * float(e.height)));
  row = row >= e.height ? e.height - 1 : (row < 0 ? 0 : row);
  *sin_theta = st;
  return row * e.width + col;
}

// Solid-angle density of the environment sampler at a direction in texel probability P.
HOST_DEVICE float env_pdf(const ShadeEnvMap& e, float texel_probability, float sin_theta) {
  return texel_probability * ((float(e.height) * float(e.width)) * kInvTwoPiSquared) / max_f(sin_theta, kSinThetaMin);
}

// Calls visit(l, weighted_radiance) for the two samples of each MC iteration of one map.
template <class Visitor>
HOST_DEVICE void env_samples(const ShadeEnvMap& e, const Surface& s, uint32_t pixel, Visitor& visit) {
  const PixelRandom rnd(e.seed, pixel);
  const float inv_n = 1.f / float(e.samples);
  for (int k = 0; k < e.samples; ++k) {
    const uint32_t sample = uint32_t(k);
    // -- BRDF-lobe sample
    {
      const float u1 = rnd(sample, 1), u2 = rnd(sample, 2);
      const Vec3 ll = rnd(sample, 0) < s.k_spec ? sample_ggx_vndf(s.v_local, s.alpha, u1, u2) : sample_cosine(u1, u2);
      const Vec3 l = s.t * ll.x + s.b * ll.y + s.n * ll.z;
      if (dot(s.n, l) > 0.f) {
        float sin_theta;
        const int texel = env_texel(e, rotate(e.rotation, l), &sin_theta);
        const float* tx = e.texels + 4 * int64_t(texel);
        const float p_env = env_pdf(e, tx[3], sin_theta);
        const float p_brdf = lobe_pdf(ll, s.v_local, s.alpha2, s.k_spec);
        const float w = (1.f / max_f(p_brdf + p_env, kPdfFloor)) * inv_n;
        visit(l, make_vec3(tx[0], tx[1], tx[2]) * w);
      }
    }
    // -- environment sample
    {
      const int row = cdf_search(e.marginal, e.height, rnd(sample, 3));
      const int col = cdf_search(e.conditional + int64_t(row) * e.width, e.width, rnd(sample, 4));
      const float u = (float(col) + rnd(sample, 5)) / float(e.width);
      const float v = (float(row) + rnd(sample, 6)) / float(e.height);
      float sin_theta, cos_theta, su, cu;
      sincos_2pi(v * 0.5f, &sin_theta, &cos_theta);  // theta = pi v
      sincos_2pi(u, &su, &cu);                       // phi = 2 pi (u - 0.5): sin phi = -su, cos phi = -cu
      const Vec3 d = make_vec3(-(sin_theta * su), cos_theta, sin_theta * cu);
      const Vec3 l = rotate_transposed(e.rotation, d);
      const Vec3 ll = make_vec3(dot(l, s.t), dot(l, s.b), dot(l, s.n));
      if (ll.z > 0.f) {
        const float* tx = e.texels + 4 * (int64_t(row) * e.width + col);
        const float p_env = env_pdf(e, tx[3], sin_theta);
        const float p_brdf = lobe_pdf(ll, s.v_local, s.alpha2, s.k_spec);
        const float w = (1.f / max_f(p_brdf + p_env, kPdfFloor)) * inv_n;
        visit(l, make_vec3(tx[0], tx[1], tx[2]) * w);
      }
    }
  }
}

// Calls visit(l, radiance) for every light of every group, then (kEnv) for every environment sample.
template <bool kEnv, class Visitor>
HOST_DEVICE void for_each_light(const ShadeParams& p, int64_t pixel, const Surface& s, Visitor& visit) {
  // 32-bit index arithmetic: the binding guarantees B H W < 2^32.
  const uint32_t b = uint32_t(pixel) / (uint32_t(p.height) * uint32_t(p.width));
  const int64_t first_directional = p.directional_shared ? 0 : int64_t(b) * p.num_directional;
  for (int k = 0; k < p.num_directional; ++k) {
    const int64_t j = first_directional + k;
    visit(load3(p.directional_direction, j), load3(p.directional_radiance, j));
  }
  if (p.num_point > 0) {
    const Vec3 x = load3(p.position, pixel);
    const int64_t first_point = p.point_shared ? 0 : int64_t(b) * p.num_point;
    for (int k = 0; k < p.num_point; ++k) {
      const int64_t j = first_point + k;
      const Vec3 to_light = load3(p.point_position, j) - x;
      const float d2 = dot(to_light, to_light);
      visit(normalize(to_light), load3(p.point_intensity, j) * (1.f / max_f(d2, 1e-12f)));
    }
  }
  if (kEnv) {
    for (int k = 0; k < p.num_env_maps; ++k) env_samples(p.env_maps[k], s, uint32_t(pixel), visit);
  }
}

template <int kBrdf>
struct AccumulateRadiance {
  const Surface& s;
  Vec3 diffuse, specular;
  HOST_DEVICE void operator()(Vec3 l, Vec3 radiance) { brdf_accumulate<kBrdf>(s, l, radiance, &diffuse, &specular); }
};

template <int kBrdf>
struct AccumulateGradient {
  const Surface& s;
  Vec3 g_diffuse, g_specular;
  SurfaceGrad grad;
  HOST_DEVICE void operator()(Vec3 l, Vec3 radiance) {
    brdf_accumulate_grad<kBrdf>(s, l, radiance, g_diffuse, g_specular, &grad);
  }
};

// View direction of a pixel: the input map, or the pinhole camera of REFERENCE section 4.
HOST_DEVICE Vec3 pixel_view(const ShadeParams& p, int64_t pixel) {
  if (p.view != nullptr) return load3(p.view, pixel);
  const uint32_t in_image = uint32_t(pixel) % (uint32_t(p.height) * uint32_t(p.width));
  const int row = int(in_image / uint32_t(p.width)), col = int(in_image % uint32_t(p.width));
  return pinhole_view(row, col, p.height, p.width, p.tan_half_fov_x, p.tan_half_fov_y);
}

// One pixel, forward (kBackward = false) or backward (true). kEnv = false compiles a lighter
// variant for calls without environment maps (no sampling state: fewer registers).
template <int kBrdf, bool kBackward, bool kEnv>
HOST_DEVICE void shade_pixel(const ShadeParams& p, int64_t pixel) {
  const Vec3 zero = make_vec3(0.f, 0.f, 0.f);
  const float weight = p.mask != nullptr ? p.mask[pixel] : 1.f;
  const Vec3 n_raw = load3(p.normal, pixel);
  const float n_len = sqrtf(dot(n_raw, n_raw));
  if (weight == 0.f || !(n_len > 0.f)) {
    if (kBackward) {
      store3(p.grad_albedo, pixel, zero);
      p.grad_roughness[pixel] = 0.f;
      p.grad_metallic[pixel] = 0.f;
      store3(p.grad_normal, pixel, zero);
    } else {
      store3(p.diffuse, pixel, zero);
      store3(p.specular, pixel, zero);
    }
    return;
  }
  const Vec3 n = n_raw * (1.f / n_len);
  const Surface s = make_surface<kBrdf, kEnv>(load3(p.albedo, pixel), p.roughness[pixel], p.metallic[pixel], n,
                                        pixel_view(p, pixel));
  if (kBackward) {
    AccumulateGradient<kBrdf> acc{s, load3(p.grad_diffuse, pixel) * weight, load3(p.grad_specular, pixel) * weight,
                                  SurfaceGrad{zero, 0.f, 0.f, zero}};
    for_each_light<kEnv>(p, pixel, s, acc);
    store3(p.grad_albedo, pixel, acc.grad.albedo);
    p.grad_roughness[pixel] = acc.grad.roughness;
    p.grad_metallic[pixel] = acc.grad.metallic;
    // through n = n_raw / |n_raw|: (I - n n^T) / |n_raw|
    const Vec3 gn = acc.grad.n;
    store3(p.grad_normal, pixel, (gn - n * dot(n, gn)) * (1.f / n_len));
  } else {
    AccumulateRadiance<kBrdf> acc{s, zero, zero};
    for_each_light<kEnv>(p, pixel, s, acc);
    store3(p.diffuse, pixel, acc.diffuse * weight);
    store3(p.specular, pixel, acc.specular * weight);
  }
}

}  // namespace shade_math
}  // namespace intrinsix
