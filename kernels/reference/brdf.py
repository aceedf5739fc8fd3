"""BRDF and sampling math of the `shade` twin: kernels/csrc/brdf.h written with torch operations.

Vectors are tensors [..., 3], scalars [..., 1]. The operations and their order follow the C++ line
by line (and the constants are the same float32 values), so that in float32 the CPU kernel and the
twin round alike: they then make the same discrete choices (lobe, texel) from the same random
numbers. Everything here is differentiable by autograd; `shade` decides what is detached.
"""

from __future__ import annotations

import struct

import torch

DISNEY, GGX = "disney", "ggx"


def f32(x: float) -> float:
    """The float32 value nearest to x (the C++ literal `x f`)."""
    return struct.unpack("f", struct.pack("f", x))[0]


PI = f32(3.14159265)
INV_PI = f32(0.318309886)
TWO_PI = f32(6.28318531)
INV_TWO_PI = f32(0.159154943)
HALF_PI = f32(1.57079633)
QUARTER_PI = f32(0.785398163)
INV_TWO_PI_SQUARED = f32(0.0506605918)
ALPHA2_MIN = f32(1e-5)
NV_MIN = f32(1e-4)
LOBE_MIN = f32(0.01)
PDF_FLOOR = f32(1e-3)
SIN_THETA_MIN = f32(1e-7)
LUM_R, LUM_G, LUM_B = f32(0.2126), f32(0.7152), f32(0.0722)
F0_DIELECTRIC = f32(0.04)
_SIN = [f32(c) for c in (-0.166666667, 0.00833333333, -0.000198412698, 2.75573192e-06)]
_COS = [f32(c) for c in (-0.5, 0.0416666667, -0.00138888889, 2.48015873e-05)]
_ATAN = [f32(c) for c in (-0.333333333, 0.2, -0.142857143, 0.111111111, -0.0909090909, 0.0769230769,
                          -0.0666666667)]
TAN_PI_8 = f32(0.414213562)


# ---- vectors -----------------------------------------------------------------------------------
def sqrt(x: torch.Tensor) -> torch.Tensor:
    """Correctly rounded square root. torch's vectorised float32 sqrt is not (it differs from IEEE
    sqrtf in the last bit for a sizeable fraction of inputs); float64 sqrt rounded to float32 is."""
    return torch.sqrt(x.double()).to(x.dtype) if x.dtype == torch.float32 else torch.sqrt(x)


def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # [..., 1]
    return (a[..., 0:1] * b[..., 0:1] + a[..., 1:2] * b[..., 1:2]) + a[..., 2:3] * b[..., 2:3]


def vec(x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:  # [..., 3] from [..., 1]
    return torch.cat(torch.broadcast_tensors(x, y, z), dim=-1)


def normalize(a: torch.Tensor) -> torch.Tensor:
    """common.h normalize: a * (1 / |a|), zero vectors unchanged."""
    length = sqrt(dot(a, a))
    positive = length > 0
    return a * torch.where(positive, torch.reciprocal(torch.where(positive, length, torch.ones_like(length))),
                           torch.ones_like(length))


def cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ax, ay, az = a[..., 0:1], a[..., 1:2], a[..., 2:3]
    bx, by, bz = b[..., 0:1], b[..., 1:2], b[..., 2:3]
    return vec(ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx)


def luminance(c: torch.Tensor) -> torch.Tensor:  # [..., 1]
    return (LUM_R * c[..., 0:1] + LUM_G * c[..., 1:2]) + LUM_B * c[..., 2:3]


def pow5(x: torch.Tensor) -> torch.Tensor:
    x2 = x * x
    return x2 * x2 * x


def divide(a: torch.Tensor, b: torch.Tensor | float) -> torch.Tensor:
    """Elementwise float division (never torch's multiply-by-reciprocal path for scalar divisors)."""
    return torch.div(a, torch.as_tensor(b, dtype=a.dtype, device=a.device).expand_as(a).contiguous())


# ---- scalar BRDF factors -----------------------------------------------------------------------
def alpha2_of(brdf: str, r: torch.Tensor) -> torch.Tensor:
    r2 = r * r
    return torch.clamp(r2 if brdf == DISNEY else r2 * r2, min=ALPHA2_MIN)


def ggx_distribution(alpha2: torch.Tensor, nh: torch.Tensor) -> torch.Tensor:
    d = (alpha2 - 1.0) * (nh * nh) + 1.0
    return alpha2 / (PI * d * d)


def diffuse_factor(brdf: str, r, nl, nv, lh) -> torch.Tensor:
    """S_d with f_d * n.l = kd * S_d, kd = albedo (1 - metallic) / pi."""
    if brdf == DISNEY:
        fd90_minus_1 = (2.0 * lh * lh) * r - 0.5
        fl = 1.0 + fd90_minus_1 * pow5(1.0 - nl)
        fv = 1.0 + fd90_minus_1 * pow5(1.0 - nv)
        return fl * fv * nl
    return nl


def specular_factor(brdf: str, r, nl, nv, nh) -> torch.Tensor:
    """S_s with f_s * n.l = F * S_s."""
    alpha2 = alpha2_of(brdf, r)
    d = ggx_distribution(alpha2, nh)
    if brdf == DISNEY:
        ag = 0.5 + 0.5 * r
        ag2 = (ag * ag) * (ag * ag)
        gl = torch.reciprocal(nl + sqrt(ag2 + nl * nl - ag2 * (nl * nl)))
        gv = torch.reciprocal(nv + sqrt(ag2 + nv * nv - ag2 * (nv * nv)))
        return d * gl * gv * nl
    vis = 0.5 / (nv * sqrt(alpha2 + nl * (nl - alpha2 * nl)) + nl * sqrt(alpha2 + nv * (nv - alpha2 * nv)))
    return d * vis * nl


# ---- polynomial trigonometry (brdf.h) ------------------------------------------------------------
def sincos_2pi(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sin 2 pi u, cos 2 pi u) for u in [0, 1]."""
    q = torch.floor(u * 4.0 + 0.5)
    x = (u - q * 0.25) * TWO_PI
    x2 = x * x
    sp = x * (1.0 + x2 * (_SIN[0] + x2 * (_SIN[1] + x2 * (_SIN[2] + x2 * _SIN[3]))))
    cp = 1.0 + x2 * (_COS[0] + x2 * (_COS[1] + x2 * (_COS[2] + x2 * _COS[3])))
    k = q.to(torch.int64) & 3
    s = torch.where(k == 0, sp, torch.where(k == 1, cp, torch.where(k == 2, -sp, -cp)))
    c = torch.where(k == 0, cp, torch.where(k == 1, -sp, torch.where(k == 2, -cp, sp)))
    return s, c


def atan_unit(z: torch.Tensor) -> torch.Tensor:
    reduce = z > TAN_PI_8
    y = torch.where(reduce, divide(z - 1.0, z + 1.0), z)
    y2 = y * y
    p = _ATAN[-1]
    for c in reversed(_ATAN[:-1]):
        p = c + y2 * p
    p = y * (1.0 + y2 * p)
    return torch.where(reduce, QUARTER_PI + p, p)


def atan2_poly(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    ax, ay = x.abs(), y.abs()
    hi, lo = torch.maximum(ax, ay), torch.minimum(ax, ay)
    z = torch.where(hi > 0, divide(lo, torch.where(hi > 0, hi, torch.ones_like(hi))), torch.zeros_like(hi))
    a = atan_unit(z)
    a = torch.where(ay > ax, HALF_PI - a, a)
    a = torch.where(x < 0, PI - a, a)
    return torch.where(y < 0, -a, a)


# ---- frames and lobe sampling --------------------------------------------------------------------
def orthonormal_basis(n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Duff et al. 2017 branchless basis (t, b) around the unit normal n."""
    nx, ny, nz = n[..., 0:1], n[..., 1:2], n[..., 2:3]
    sign = torch.copysign(torch.ones_like(nz), nz)
    a = -torch.reciprocal(sign + nz)
    bb = nx * ny * a
    t = vec(1.0 + sign * nx * nx * a, sign * bb, -sign * nx)
    b = vec(bb, sign + ny * ny * a, -ny)
    return t, b


def sample_cosine(u1: torch.Tensor, u2: torch.Tensor) -> torch.Tensor:
    r = sqrt(u1)
    s, c = sincos_2pi(u2)
    return vec(r * c, r * s, sqrt(torch.clamp(1.0 - u1, min=0.0)))


def sample_ggx_vndf(v: torch.Tensor, alpha: torch.Tensor, u1: torch.Tensor, u2: torch.Tensor) -> torch.Tensor:
    """Heitz 2018 visible-normal sampling, reflected about the sampled micro-normal."""
    vh = normalize(vec(alpha * v[..., 0:1], alpha * v[..., 1:2], v[..., 2:3]))
    vx, vy, vz = vh[..., 0:1], vh[..., 1:2], vh[..., 2:3]
    lensq = vx * vx + vy * vy
    positive = lensq > 0
    inv_len = torch.where(positive, torch.reciprocal(sqrt(torch.where(positive, lensq, torch.ones_like(lensq)))),
                          torch.zeros_like(lensq))
    t1 = torch.where(positive, vec(-vy * inv_len, vx * inv_len, torch.zeros_like(vx)),
                     vec(torch.ones_like(vx), torch.zeros_like(vx), torch.zeros_like(vx)))
    t2 = cross(vh, t1)
    r = sqrt(u1)
    s, c = sincos_2pi(u2)
    p1 = r * c
    blend = 0.5 * (1.0 + vz)
    p2 = (1.0 - blend) * sqrt(torch.clamp(1.0 - p1 * p1, min=0.0)) + blend * (r * s)
    pz = sqrt(torch.clamp(1.0 - p1 * p1 - p2 * p2, min=0.0))
    nh = t1 * p1 + t2 * p2 + vh * pz
    h = normalize(vec(alpha * nh[..., 0:1], alpha * nh[..., 1:2], torch.clamp(nh[..., 2:3], min=0.0)))
    return h * (2.0 * dot(v, h)) - v


def lobe_pdf(l: torch.Tensor, v: torch.Tensor, alpha2: torch.Tensor, k_spec: torch.Tensor) -> torch.Tensor:
    """Solid-angle density of the lobe mixture (local frame): kS D G1(v) / (4 v.z) + (1 - kS) l.z / pi."""
    h = normalize(l + v)
    d = ggx_distribution(alpha2, torch.clamp(h[..., 2:3], min=0.0))
    vz = v[..., 2:3]
    spec = d / (2.0 * (vz + sqrt(alpha2 + (1.0 - alpha2) * (vz * vz))))
    diff = torch.clamp(l[..., 2:3], min=0.0) * INV_PI
    return k_spec * spec + (1.0 - k_spec) * diff


# ---- one shading point -------------------------------------------------------------------------
class Surface:
    """Per-pixel quantities of brdf.h `make_surface` (tensors [P, 3] / [P, 1])."""

    def __init__(self, brdf: str, albedo, roughness, metallic, n, v):
        self.brdf = brdf
        self.albedo, self.roughness, self.metallic, self.n, self.v = albedo, roughness, metallic, n, v
        nv_raw = dot(n, v)
        self.nv = torch.clamp(nv_raw, min=NV_MIN)  # gradient where n.v >= NV_MIN, as in the kernel
        one_minus_m = 1.0 - metallic
        diffuse_albedo = albedo * one_minus_m
        self.kd = diffuse_albedo * INV_PI
        self.f0 = F0_DIELECTRIC * one_minus_m + albedo * metallic
        self.f90 = torch.clamp(25.0 * luminance(self.f0), max=1.0) if brdf == GGX else None
        with torch.no_grad():  # importance sampling: constants for the gradient
            self.t, self.b = orthonormal_basis(n)
            self.v_local = normalize(vec(dot(v, self.t), dot(v, self.b), torch.clamp(nv_raw, min=NV_MIN)))
            self.alpha2 = alpha2_of(brdf, roughness)
            self.alpha = sqrt(self.alpha2)
            lum_d = torch.clamp(luminance(diffuse_albedo), min=LOBE_MIN)
            lum_s = torch.clamp(luminance(self.f0), min=LOBE_MIN)
            self.k_spec = lum_s / (lum_d + lum_s)

    def fresnel(self, k: torch.Tensor) -> torch.Tensor:
        if self.brdf == DISNEY:
            return self.f0 * (1.0 - k) + k
        return self.f0 + (self.f90 - self.f0) * k

    def radiance(self, l: torch.Tensor, radiance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(radiance f_d max(n.l, 0), radiance f_s max(n.l, 0)) for light directions l (broadcast)."""
        nl_raw = dot(self.n, l)
        lit = nl_raw > 0
        nl = torch.where(lit, nl_raw, torch.ones_like(nl_raw))  # keeps unlit lanes finite (no NaN gradients)
        h = normalize(l + self.v)
        nh = dot(self.n, h)
        lh = torch.clamp(dot(l, h), min=0.0)
        k = pow5(1.0 - lh)
        r = self.roughness
        sd = diffuse_factor(self.brdf, r, nl, self.nv, lh)
        ss = specular_factor(self.brdf, r, nl, self.nv, nh)
        zero = torch.zeros((), dtype=nl.dtype, device=nl.device)
        diffuse = torch.where(lit, (radiance * self.kd) * sd, zero)
        specular = torch.where(lit, (radiance * self.fresnel(k)) * ss, zero)
        return diffuse, specular
