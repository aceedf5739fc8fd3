// texture: filtered lookups of a texture (or its mip pyramid) at per-pixel uv coordinates.
//
// Conventions (docs/kernels/texture.md): u indexes columns, v indexes rows; texel (i, j) of a level
// of size h x w has its centre at u = (j + 0.5) / w, v = (i + 0.5) / h; row 0 is v = 0 (OpenGL
// memory order). Bilinear filtering works in texel space x = u * w - 0.5, y = v * h - 0.5.
// 'repeat' wraps u and v into [0, 1) and texel indices modulo the size; 'clamp' clamps texel
// indices to the edge texels.
//
// Every filter is written as a short list of taps (texel index, weight, d weight / d u,
// d weight / d v), so that the forward, both gradients, the CPU and the CUDA kernels share one
// piece of math:
//   nearest               1 tap   (weight 1, no uv derivative)
//   linear                4 taps  (bilinear in the base level)
//   linear-mipmap-linear  8 taps  (bilinear in two adjacent levels, blended by the fractional lod)
#pragma once

#include "common.h"

namespace intrinsix {

constexpr int kTextureMaxLevels = 16;  // 2^15 = 32768 > the largest texture side we accept (16384)
constexpr int kTextureMaxTaps = 8;

enum TextureFilter : int { kFilterNearest = 0, kFilterLinear = 1, kFilterLinearMipmapLinear = 2 };
enum TextureWrap : int { kWrapRepeat = 0, kWrapClamp = 1 };

struct TextureParams {
  // The texture is a packed mip pyramid: level k is an [h_k, w_k, C] image stored row-major at
  // texel offset level_offset[k] of one flat [T, C] buffer per texture batch entry
  // (T = sum_k h_k * w_k). 'nearest' and 'linear' use level 0 only (num_levels may be 1).
  const float* tex;             // [A, T, C] packed pyramid, A = batch (per image) or 1 (shared)
  const float* uv;              // [B, P, 2] texture coordinates (u, v) per pixel, P = Hp * Wp
  const float* uv_da;           // [B, P, 4] (du/dx, du/dy, dv/dx, dv/dy) per pixel; mipmap only, else null
  const float* mip_level_bias;  // [B, P] added to the level of detail; null = 0
  float* out;                   // [B, P, C] filtered values (forward)
  const float* grad_out;        // [B, P, C] cotangent of out (backward)
  float* grad_tex;              // [A, T, C] gradient of tex (backward, zero-initialised), or null
  float* grad_uv;               // [B, P, 2] gradient of uv (backward, fully written), or null
  int batch;                    // B
  int64_t num_pixels;           // P, pixels per image
  int num_channels;             // C
  int filter;                   // TextureFilter
  int wrap;                     // TextureWrap
  int num_levels;               // levels present in the packed buffer, 1..kTextureMaxLevels
  int level_height[kTextureMaxLevels];   // h_k
  int level_width[kTextureMaxLevels];    // w_k
  int64_t level_offset[kTextureMaxLevels];  // texel offset of level k in the packed buffer
  int64_t tex_batch_stride;     // T * C if tex is per image, 0 if shared
};

// The taps of one pixel. index is a texel index into the packed [T, C] buffer of one batch entry;
// the filtered value is sum_k weight[k] * tex[index[k]] over k < count. du / dv are d weight / d u
// and d v. Taps are written at fixed slots (the `first` arguments below are constants) and read by
// fully unrolled loops, so that nvcc keeps the struct in registers instead of local memory.
struct TextureTaps {
  int count;
  int64_t index[kTextureMaxTaps];
  float weight[kTextureMaxTaps];
  float du[kTextureMaxTaps];
  float dv[kTextureMaxTaps];
};

// Texel index along one axis of size n after the wrap mode.
HOST_DEVICE int wrap_texel(int i, int n, int wrap) {
  if (wrap == kWrapRepeat) {
    i %= n;
    return i < 0 ? i + n : i;
  }
  return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

// A product rounded on its own: nvcc may not fuse it into a multiply-add (the CPU build has
// -ffp-contract=off), so that the CPU, the GPU and the twin pick the same texels.
HOST_DEVICE float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

// Texel-space coordinate u * n - 0.5 of a coordinate on an axis of n texels.
// 'repeat' first maps u into [0, 1] (u - floor(u); it can round up to exactly 1 just below an
// integer, which wraps to the same taps as 0), so that a large |u| keeps its precision; the
// derivative of that wrap is 1 almost everywhere. 'clamp' limits the result to [-1, n]: beyond
// that both taps are the same edge texel anyway, and the limit keeps the int conversion defined.
HOST_DEVICE float texel_coordinate(float u, int n, int wrap) {
  if (wrap == kWrapRepeat) return mul_rn(u - floorf(u), float(n)) - 0.5f;
  const float x = mul_rn(u, float(n)) - 0.5f;
  return x < -1.f ? -1.f : (x > float(n) ? float(n) : x);
}

// Nearest tap of level `level` at slot 0: the texel whose square contains (u, v), i.e. the texel
// index floor(x + 0.5) in texel space.
HOST_DEVICE void set_nearest_tap(const TextureParams& p, int level, float u, float v, TextureTaps& t) {
  const int h = p.level_height[level], w = p.level_width[level];
  const int j = wrap_texel(int(floorf(texel_coordinate(u, w, p.wrap) + 0.5f)), w, p.wrap);
  const int i = wrap_texel(int(floorf(texel_coordinate(v, h, p.wrap) + 0.5f)), h, p.wrap);
  t.index[0] = p.level_offset[level] + int64_t(i) * w + j;
  t.weight[0] = 1.f;
  t.du[0] = 0.f;
  t.dv[0] = 0.f;
}

// The 4 bilinear taps of level `level` at slots first..first+3, all weights multiplied by `scale`
// (the trilinear blend factor of that level).
HOST_DEVICE void set_bilinear_taps(const TextureParams& p, int level, float u, float v, float scale, int first,
                                   TextureTaps& t) {
  const int h = p.level_height[level], w = p.level_width[level];
  const float x = texel_coordinate(u, w, p.wrap);
  const float y = texel_coordinate(v, h, p.wrap);
  const float x0f = floorf(x), y0f = floorf(y);
  const float fx = x - x0f, fy = y - y0f;
  const int x0 = int(x0f), y0 = int(y0f);
  const int cols[2] = {wrap_texel(x0, w, p.wrap), wrap_texel(x0 + 1, w, p.wrap)};
  const int rows[2] = {wrap_texel(y0, h, p.wrap), wrap_texel(y0 + 1, h, p.wrap)};
  const float wx[2] = {1.f - fx, fx}, wy[2] = {1.f - fy, fy};
  // d wx / d u = (-1, +1) * w and d wy / d v = (-1, +1) * h (x = u * w - 0.5).
  const float dwx[2] = {-float(w) * scale, float(w) * scale};
  const float dwy[2] = {-float(h) * scale, float(h) * scale};
  for (int a = 0; a < 2; ++a) {
    for (int b = 0; b < 2; ++b) {
      const int k = first + 2 * a + b;
      t.index[k] = p.level_offset[level] + int64_t(rows[a]) * w + cols[b];
      t.weight[k] = wy[a] * wx[b] * scale;
      t.du[k] = wy[a] * dwx[b];
      t.dv[k] = dwy[a] * wx[b];
    }
  }
}

// Level of detail from the screen-space derivatives of uv, as in the OpenGL specification:
// rho = max(|d(uv * size)/dx|, |d(uv * size)/dy|) in base-level texels per pixel,
// lod = log2(rho) + bias, clamped to [0, num_levels - 1].
HOST_DEVICE float texture_lod(const TextureParams& p, const float* da, float bias) {
  const float w = float(p.level_width[0]), h = float(p.level_height[0]);
  const float dudx = da[0] * w, dudy = da[1] * w, dvdx = da[2] * h, dvdy = da[3] * h;
  const float rho_x2 = dudx * dudx + dvdx * dvdx;
  const float rho_y2 = dudy * dudy + dvdy * dvdy;
  const float rho2 = rho_x2 > rho_y2 ? rho_x2 : rho_y2;
  // log2(sqrt(r)) = 0.5 * log2(r); log2(0) = -inf clamps to 0 below.
  float lod = 0.5f * log2f(rho2) + bias;
  const float top = float(p.num_levels - 1);
  if (!(lod > 0.f)) lod = 0.f;
  if (lod > top) lod = top;
  return lod;
}

// All taps of pixel `pixel` (flat index b * P + i).
HOST_DEVICE TextureTaps texture_taps(const TextureParams& p, int64_t pixel) {
  TextureTaps t;
  const float u = p.uv[2 * pixel], v = p.uv[2 * pixel + 1];
  if (p.filter == kFilterNearest) {
    t.count = 1;
    set_nearest_tap(p, 0, u, v, t);
  } else if (p.filter == kFilterLinear) {
    t.count = 4;
    set_bilinear_taps(p, 0, u, v, 1.f, 0, t);
  } else {
    t.count = 8;
    const float bias = p.mip_level_bias ? p.mip_level_bias[pixel] : 0.f;
    const float lod = texture_lod(p, p.uv_da + 4 * pixel, bias);
    int level0 = int(floorf(lod));
    if (level0 > p.num_levels - 1) level0 = p.num_levels - 1;
    const int level1 = level0 + 1 < p.num_levels ? level0 + 1 : level0;
    const float frac = lod - float(level0);
    set_bilinear_taps(p, level0, u, v, 1.f - frac, 0, t);
    set_bilinear_taps(p, level1, u, v, frac, 4, t);
  }
  return t;
}

void texture_fwd_cpu(const TextureParams& p);
void texture_bwd_cpu(const TextureParams& p);
void texture_fwd_cuda(const TextureParams& p, void* stream);
void texture_bwd_cuda(const TextureParams& p, void* stream);

}  // namespace intrinsix
