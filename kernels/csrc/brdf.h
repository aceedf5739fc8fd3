// BRDF math of the `shade` op (REFERENCE.md section 4), shared by the CPU and CUDA kernels.
//
//  * "disney" (IntrinsiX): Burley diffuse with retro-reflection, GGX D with alpha = roughness,
//    Schlick F, separable Smith G' with ag = (0.5 + 0.5 r)^2 that already holds 1 / (4 n.l n.v).
//  * "ggx" (Zhu et al. 2022): Lambert diffuse, GGX D with alpha = roughness^2, height-correlated
//    Smith V, Schlick F with F90 = min(1, 25 lum(F0)).
// Every value is linear; radiance in, radiance out. The PyTorch twin
// (kernels/reference/brdf.py) writes the same operations in the same order, so that the CPU
// kernel and the twin round alike; constants are float32 values written identically in both.
//
// Gradients: the colour factors (kd, F) are linear in albedo/F0 and are differentiated by hand;
// the scalar factors (which depend on roughness, n.l, n.v and n.h) are templated over the scalar
// type and differentiated in forward mode with `Dual4` (one tangent per scalar input).
#pragma once

#include "common.h"

namespace intrinsix {
namespace shade_math {

constexpr int kBrdfDisney = 0;
constexpr int kBrdfGgx = 1;

constexpr float kPi = 3.14159265f;
constexpr float kInvPi = 0.318309886f;
constexpr float kTwoPi = 6.28318531f;
constexpr float kInvTwoPi = 0.159154943f;
constexpr float kHalfPi = 1.57079633f;
constexpr float kQuarterPi = 0.785398163f;
constexpr float kInvTwoPiSquared = 0.0506605918f;  // 1 / (2 pi^2): texel (u, v) area -> solid angle
constexpr float kAlpha2Min = 1e-5f;   // floor of the GGX alpha^2 (both BRDFs): no delta lobes
constexpr float kNvMin = 1e-4f;       // n.v floor: back-facing normals are shaded as grazing
constexpr float kLobeMin = 0.01f;     // floor of both luminances in the lobe-choice probability
constexpr float kPdfFloor = 1e-3f;    // floor of the MIS denominator p_brdf + p_env (REFERENCE)
constexpr float kSinThetaMin = 1e-7f; // equirectangular Jacobian near the poles
// Rec. 709 / sRGB-primaries luminance of linear RGB.
constexpr float kLumR = 0.2126f, kLumG = 0.7152f, kLumB = 0.0722f;

HOST_DEVICE float luminance(Vec3 c) { return kLumR * c.x + kLumG * c.y + kLumB * c.z; }
HOST_DEVICE float max_f(float a, float b) { return a > b ? a : b; }
HOST_DEVICE float min_f(float a, float b) { return a < b ? a : b; }

// ---- forward-mode dual number with four tangents ----------------------------------------------
// Tangent slots: 0 roughness, 1 n.l, 2 n.v, 3 n.h.
struct Dual4 {
  float v;
  float d[4];
};
HOST_DEVICE Dual4 dual_const(float v) { return Dual4{v, {0.f, 0.f, 0.f, 0.f}}; }
HOST_DEVICE Dual4 dual_var(float v, int slot) {
  Dual4 r = dual_const(v);
  r.d[slot] = 1.f;
  return r;
}
HOST_DEVICE Dual4 operator+(Dual4 a, Dual4 b) {
  Dual4 r;
  r.v = a.v + b.v;
  for (int k = 0; k < 4; ++k) r.d[k] = a.d[k] + b.d[k];
  return r;
}
HOST_DEVICE Dual4 operator-(Dual4 a, Dual4 b) {
  Dual4 r;
  r.v = a.v - b.v;
  for (int k = 0; k < 4; ++k) r.d[k] = a.d[k] - b.d[k];
  return r;
}
HOST_DEVICE Dual4 operator*(Dual4 a, Dual4 b) {
  Dual4 r;
  r.v = a.v * b.v;
  for (int k = 0; k < 4; ++k) r.d[k] = a.d[k] * b.v + a.v * b.d[k];
  return r;
}
HOST_DEVICE Dual4 operator/(Dual4 a, Dual4 b) {
  Dual4 r;
  const float inv = 1.f / b.v;
  r.v = a.v / b.v;
  for (int k = 0; k < 4; ++k) r.d[k] = (a.d[k] - r.v * b.d[k]) * inv;
  return r;
}
HOST_DEVICE Dual4 operator+(Dual4 a, float b) { a.v = a.v + b; return a; }
HOST_DEVICE Dual4 operator+(float a, Dual4 b) { b.v = a + b.v; return b; }
HOST_DEVICE Dual4 operator-(Dual4 a, float b) { a.v = a.v - b; return a; }
HOST_DEVICE Dual4 operator-(float a, Dual4 b) {
  Dual4 r;
  r.v = a - b.v;
  for (int k = 0; k < 4; ++k) r.d[k] = -b.d[k];
  return r;
}
HOST_DEVICE Dual4 operator*(Dual4 a, float b) {
  Dual4 r;
  r.v = a.v * b;
  for (int k = 0; k < 4; ++k) r.d[k] = a.d[k] * b;
  return r;
}
HOST_DEVICE Dual4 operator*(float a, Dual4 b) { return b * a; }
HOST_DEVICE Dual4 operator/(float a, Dual4 b) { return dual_const(a) / b; }
HOST_DEVICE Dual4 sqrt_t(Dual4 a) {
  Dual4 r;
  r.v = sqrtf(a.v);
  const float s = r.v > 0.f ? 0.5f / r.v : 0.f;
  for (int k = 0; k < 4; ++k) r.d[k] = a.d[k] * s;
  return r;
}
HOST_DEVICE float sqrt_t(float a) { return sqrtf(a); }
// max(x, lo) with the gradient of x where x >= lo (torch.clamp(min=lo) in the twin).
HOST_DEVICE Dual4 clamp_min_t(Dual4 x, float lo) { return x.v >= lo ? x : dual_const(lo); }
HOST_DEVICE float clamp_min_t(float x, float lo) { return x >= lo ? x : lo; }
HOST_DEVICE float value_of(float x) { return x; }
HOST_DEVICE float value_of(Dual4 x) { return x.v; }

template <class T>
HOST_DEVICE T pow5(T x) {
  const T x2 = x * x;
  return x2 * x2 * x;
}

// ---- scalar BRDF factors (templated: float for values, Dual4 for derivatives) -----------------
// GGX / Trowbridge-Reitz normal distribution for alpha^2 and n.h.
template <class T>
HOST_DEVICE T ggx_distribution(T alpha2, T nh) {
  const T d = (alpha2 - 1.f) * (nh * nh) + 1.f;
  return alpha2 / (kPi * d * d);
}

template <class T>
HOST_DEVICE T alpha2_of(int brdf, T r) {
  // disney: alpha = r; ggx: alpha = r^2. Both floored at kAlpha2Min.
  return brdf == kBrdfDisney ? clamp_min_t(r * r, kAlpha2Min) : clamp_min_t((r * r) * (r * r), kAlpha2Min);
}

// Diffuse factor S_d: f_d * n.l = kd * S_d with kd = albedo (1 - metallic) / pi.
template <int kBrdf, class T>
HOST_DEVICE T diffuse_factor(T r, T nl, T nv, float lh) {
  if (kBrdf == kBrdfDisney) {
    const T fd90_minus_1 = (2.f * lh * lh) * r - 0.5f;  // F_D90 - 1 = 0.5 + 2 r (l.h)^2 - 1
    const T fl = 1.f + fd90_minus_1 * pow5(1.f - nl);
    const T fv = 1.f + fd90_minus_1 * pow5(1.f - nv);
    return fl * fv * nl;
  }
  return nl;  // Lambert
}

// Specular factor S_s: f_s * n.l = F * S_s (F the Fresnel colour).
template <int kBrdf, class T>
HOST_DEVICE T specular_factor(T r, T nl, T nv, T nh) {
  const T alpha2 = alpha2_of(kBrdf, r);
  const T d = ggx_distribution(alpha2, nh);
  if (kBrdf == kBrdfDisney) {
    const T ag = 0.5f + 0.5f * r;
    const T ag2 = (ag * ag) * (ag * ag);  // (ag)^2 with ag = (0.5 + 0.5 r)^2
    const T gl = 1.f / (nl + sqrt_t(ag2 + nl * nl - ag2 * (nl * nl)));
    const T gv = 1.f / (nv + sqrt_t(ag2 + nv * nv - ag2 * (nv * nv)));
    return d * gl * gv * nl;
  }
  const T vis = 0.5f / (nv * sqrt_t(alpha2 + nl * (nl - alpha2 * nl)) + nl * sqrt_t(alpha2 + nv * (nv - alpha2 * nv)));
  return d * vis * nl;
}

// ---- polynomial trigonometry ------------------------------------------------------------------
// Written with + - * / and sqrt only, so that the CPU kernel and the twin round identically (the
// sample directions and texel lookups decide discrete things: which texel, which lobe).
// sin and cos of 2 pi u for u in [0, 1]: quadrant reduction, Taylor polynomials on [-pi/4, pi/4]
// (truncation error below 3e-8).
HOST_DEVICE void sincos_2pi(float u, float* s, float* c) {
  const float q = floorf(u * 4.f + 0.5f);
  const float t = u - q * 0.25f;
  const float x = t * kTwoPi;
  const float x2 = x * x;
  const float sp =
      x * (1.f + x2 * (-0.166666667f + x2 * (0.00833333333f + x2 * (-0.000198412698f + x2 * 2.75573192e-06f))));
  const float cp = 1.f + x2 * (-0.5f + x2 * (0.0416666667f + x2 * (-0.00138888889f + x2 * 2.48015873e-05f)));
  const int k = int(q) & 3;
  *s = k == 0 ? sp : (k == 1 ? cp : (k == 2 ? -sp : -cp));
  *c = k == 0 ? cp : (k == 1 ? -sp : (k == 2 ? -cp : sp));
}

// atan(z) for z in [0, 1]: z > tan(pi/8) is reduced with atan(z) = pi/4 + atan((z-1)/(z+1)),
// then an odd Taylor polynomial to degree 15 (error below 3e-8).
HOST_DEVICE float atan_unit(float z) {
  const bool reduce = z > 0.414213562f;
  const float y = reduce ? (z - 1.f) / (z + 1.f) : z;
  const float y2 = y * y;
  const float p = y * (1.f + y2 * (-0.333333333f + y2 * (0.2f + y2 * (-0.142857143f + y2 * (0.111111111f +
                  y2 * (-0.0909090909f + y2 * (0.0769230769f + y2 * -0.0666666667f)))))));
  return reduce ? kQuarterPi + p : p;
}

// atan2(y, x) in (-pi, pi]; atan2(0, 0) = 0.
HOST_DEVICE float atan2_poly(float y, float x) {
  const float ax = fabsf(x), ay = fabsf(y);
  const float hi = max_f(ax, ay), lo = min_f(ax, ay);
  const float z = hi > 0.f ? lo / hi : 0.f;
  float a = atan_unit(z);
  a = ay > ax ? kHalfPi - a : a;
  a = x < 0.f ? kPi - a : a;
  return y < 0.f ? -a : a;
}

// ---- frames and lobe sampling -------------------------------------------------------------------
// Branchless orthonormal basis (Duff et al. 2017) around the unit normal n: (t, b, n).
HOST_DEVICE void orthonormal_basis(Vec3 n, Vec3* t, Vec3* b) {
  const float sign = copysignf(1.f, n.z);
  const float a = -1.f / (sign + n.z);
  const float bb = n.x * n.y * a;
  *t = make_vec3(1.f + sign * n.x * n.x * a, sign * bb, -sign * n.x);
  *b = make_vec3(bb, sign + n.y * n.y * a, -n.y);
}

// Cosine-weighted hemisphere direction (local frame, z = normal); pdf = z / pi.
HOST_DEVICE Vec3 sample_cosine(float u1, float u2) {
  const float r = sqrtf(u1);
  float s, c;
  sincos_2pi(u2, &s, &c);
  return make_vec3(r * c, r * s, sqrtf(max_f(1.f - u1, 0.f)));
}

// GGX visible-normal sampling (Heitz 2018), isotropic alpha, view v in the local frame (v.z > 0).
// Returns the reflected direction l = 2 (v.h) h - v; its density is D(h) G1(v) / (4 v.z).
HOST_DEVICE Vec3 sample_ggx_vndf(Vec3 v, float alpha, float u1, float u2) {
  const Vec3 vh = normalize(make_vec3(alpha * v.x, alpha * v.y, v.z));
  const float lensq = vh.x * vh.x + vh.y * vh.y;
  const float inv_len = lensq > 0.f ? 1.f / sqrtf(lensq) : 0.f;
  const Vec3 t1 = lensq > 0.f ? make_vec3(-vh.y * inv_len, vh.x * inv_len, 0.f) : make_vec3(1.f, 0.f, 0.f);
  const Vec3 t2 = cross(vh, t1);
  const float r = sqrtf(u1);
  float s, c;
  sincos_2pi(u2, &s, &c);
  const float p1 = r * c;
  const float blend = 0.5f * (1.f + vh.z);
  const float p2 = (1.f - blend) * sqrtf(max_f(1.f - p1 * p1, 0.f)) + blend * (r * s);
  const float pz = sqrtf(max_f(1.f - p1 * p1 - p2 * p2, 0.f));
  const Vec3 nh = t1 * p1 + t2 * p2 + vh * pz;
  const Vec3 h = normalize(make_vec3(alpha * nh.x, alpha * nh.y, max_f(nh.z, 0.f)));
  const float vdoth = dot(v, h);
  return h * (2.f * vdoth) - v;
}

// Density (solid angle) of the one-sample lobe mixture for local l and sampling view v (unit,
// v.z > 0): kS * D(h) G1(v) / (4 v.z) + (1 - kS) max(l.z, 0) / pi.
HOST_DEVICE float lobe_pdf(Vec3 l, Vec3 v, float alpha2, float k_spec) {
  const Vec3 h = normalize(l + v);
  const float d = ggx_distribution(alpha2, max_f(h.z, 0.f));
  const float spec = d / (2.f * (v.z + sqrtf(alpha2 + (1.f - alpha2) * (v.z * v.z))));
  const float diff = max_f(l.z, 0.f) * kInvPi;
  return k_spec * spec + (1.f - k_spec) * diff;
}

// ---- one shading point --------------------------------------------------------------------------
struct Surface {
  Vec3 albedo;
  float roughness, metallic;
  Vec3 n;            // unit normal (camera space)
  Vec3 v;            // unit direction toward the camera
  float nv;          // max(n.v, kNvMin)
  bool nv_active;    // n.v above the floor: n.v carries a gradient
  Vec3 kd;           // albedo (1 - metallic) / pi
  Vec3 f0;           // lerp(0.04, albedo, metallic)
  float f90;         // ggx: min(1, 25 lum(F0)); disney: 1
  bool f90_active;   // ggx and 25 lum(F0) < 1: F90 carries a gradient
  // Importance sampling (constants for the gradient).
  Vec3 t, b;         // tangent frame around n
  Vec3 v_local;      // sampling view in (t, b, n), z floored at kNvMin and renormalised
  float alpha2, alpha;
  float k_spec;      // probability of the specular lobe
};

// kSampling: also set up importance sampling (only environment maps need it).
template <int kBrdf, bool kSampling>
HOST_DEVICE Surface make_surface(Vec3 albedo, float roughness, float metallic, Vec3 n, Vec3 v) {
  Surface s;
  s.albedo = albedo;
  s.roughness = roughness;
  s.metallic = metallic;
  s.n = n;
  s.v = v;
  const float nv = dot(n, v);
  s.nv_active = nv >= kNvMin;
  s.nv = s.nv_active ? nv : kNvMin;
  const float one_minus_m = 1.f - metallic;
  const Vec3 diffuse_albedo = albedo * one_minus_m;
  s.kd = diffuse_albedo * kInvPi;
  s.f0 = make_vec3(0.04f * one_minus_m, 0.04f * one_minus_m, 0.04f * one_minus_m) + albedo * metallic;
  if (kBrdf == kBrdfGgx) {
    const float f90 = 25.f * luminance(s.f0);
    s.f90_active = f90 < 1.f;
    s.f90 = s.f90_active ? f90 : 1.f;
  } else {
    s.f90 = 1.f;
    s.f90_active = false;
  }
  if (kSampling) {
    orthonormal_basis(n, &s.t, &s.b);
    s.v_local = normalize(make_vec3(dot(v, s.t), dot(v, s.b), max_f(nv, kNvMin)));
    s.alpha2 = alpha2_of(kBrdf, roughness);
    s.alpha = sqrtf(s.alpha2);
    const float lum_d = max_f(luminance(diffuse_albedo), kLobeMin);
    const float lum_s = max_f(luminance(s.f0), kLobeMin);
    s.k_spec = lum_s / (lum_d + lum_s);
  }
  return s;
}

// Fresnel colour for l.h through k = (1 - l.h)^5.
template <int kBrdf>
HOST_DEVICE Vec3 fresnel(const Surface& s, float k) {
  if (kBrdf == kBrdfDisney) return s.f0 * (1.f - k) + make_vec3(k, k, k);
  return s.f0 + (make_vec3(s.f90, s.f90, s.f90) - s.f0) * k;
}

// Adds radiance * f_d * max(n.l, 0) to *diffuse and radiance * f_s * max(n.l, 0) to *specular.
template <int kBrdf>
HOST_DEVICE void brdf_accumulate(const Surface& s, Vec3 l, Vec3 radiance, Vec3* diffuse, Vec3* specular) {
  const float nl = dot(s.n, l);
  if (!(nl > 0.f)) return;
  const Vec3 h = normalize(l + s.v);
  const float nh = dot(s.n, h);
  const float lh = max_f(dot(l, h), 0.f);
  const float k = pow5(1.f - lh);
  const float sd = diffuse_factor<kBrdf, float>(s.roughness, nl, s.nv, lh);
  const float ss = specular_factor<kBrdf, float>(s.roughness, nl, s.nv, nh);
  *diffuse = *diffuse + (radiance * s.kd) * sd;
  *specular = *specular + (radiance * fresnel<kBrdf>(s, k)) * ss;
}

// Gradient of one light's contribution with respect to the surface inputs.
struct SurfaceGrad {
  Vec3 albedo;
  float roughness, metallic;
  Vec3 n;  // with respect to the UNIT normal; the caller chains through the normalisation
};

// Adds the vector-Jacobian product of brdf_accumulate for the cotangents g_diffuse, g_specular.
template <int kBrdf>
HOST_DEVICE void brdf_accumulate_grad(const Surface& s, Vec3 l, Vec3 radiance, Vec3 g_diffuse, Vec3 g_specular,
                                      SurfaceGrad* g) {
  const float nl = dot(s.n, l);
  if (!(nl > 0.f)) return;
  const Vec3 h = normalize(l + s.v);
  const float nh = dot(s.n, h);
  const float lh = max_f(dot(l, h), 0.f);
  const float k = pow5(1.f - lh);
  const Dual4 r = dual_var(s.roughness, 0);
  const Dual4 nl_d = dual_var(nl, 1);
  const Dual4 nv_d = s.nv_active ? dual_var(s.nv, 2) : dual_const(s.nv);
  const Dual4 nh_d = dual_var(nh, 3);
  const Dual4 sd = diffuse_factor<kBrdf, Dual4>(r, nl_d, nv_d, lh);
  const Dual4 ss = specular_factor<kBrdf, Dual4>(r, nl_d, nv_d, nh_d);
  const Vec3 wd = g_diffuse * radiance;
  const Vec3 ws = g_specular * radiance;
  // diffuse = radiance * kd * S_d, kd = albedo (1 - m) / pi
  const float v_sd = dot(wd, s.kd);
  const Vec3 v_kd = wd * sd.v;
  g->albedo = g->albedo + v_kd * ((1.f - s.metallic) * kInvPi);
  g->metallic -= dot(v_kd, s.albedo) * kInvPi;
  // specular = radiance * F * S_s, F linear in F0 (and F90 for ggx), F0 = 0.04 (1 - m) + albedo m
  const Vec3 f = fresnel<kBrdf>(s, k);
  const float v_ss = dot(ws, f);
  const Vec3 v_f = ws * ss.v;
  Vec3 v_f0 = v_f * (1.f - k);
  if (kBrdf == kBrdfGgx && s.f90_active) {
    const float v_f90 = (v_f.x + v_f.y + v_f.z) * k;
    v_f0 = v_f0 + make_vec3(kLumR, kLumG, kLumB) * (25.f * v_f90);
  }
  g->albedo = g->albedo + v_f0 * s.metallic;
  g->metallic += dot(v_f0, s.albedo - make_vec3(0.04f, 0.04f, 0.04f));
  // scalar factors
  g->roughness += v_sd * sd.d[0] + v_ss * ss.d[0];
  const float v_nl = v_sd * sd.d[1] + v_ss * ss.d[1];
  const float v_nv = v_sd * sd.d[2] + v_ss * ss.d[2];
  const float v_nh = v_ss * ss.d[3];
  g->n = g->n + l * v_nl + s.v * v_nv + h * v_nh;
}

}  // namespace shade_math
}  // namespace intrinsix
