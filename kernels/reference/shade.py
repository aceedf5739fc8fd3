"""Twin of `intrinsix.kernels.shade` (docs/kernels/shade.md): the same estimator written with torch
operations and differentiated by autograd.

The environment estimator draws the kernel's random numbers (reference/random.py), builds the
same samples with the same float32 operations (reference/brdf.py) and searches the same CDF tables
with the same rule, so the CPU kernel and this twin agree to float rounding. Directions, densities
and MIS weights are computed under no_grad: only f * max(n.l, 0) is differentiated, which is the
gradient the kernel's backward computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..lights import DEFAULT_FOV_DEG, EnvironmentMap, pack_lights, view_directions
from . import brdf as m
from .random import random_uniform


@dataclass
class EnvSamples:
    """The samples of one environment map for every pixel: 2 * spp directions with their weighted
    radiance L(l) / (max(p_brdf + p_env, 1e-3) spp); zero radiance where n.l <= 0."""

    direction: torch.Tensor  # [P, 2 S, 3] camera space
    radiance: torch.Tensor  # [P, 2 S, 3]


def _rotate(r: tuple[float, ...], d: torch.Tensor, transposed: bool = False) -> torch.Tensor:
    x, y, z = d[..., 0:1], d[..., 1:2], d[..., 2:3]
    rows = [(r[0], r[3], r[6]), (r[1], r[4], r[7]), (r[2], r[5], r[8])] if transposed else \
        [(r[0], r[1], r[2]), (r[3], r[4], r[5]), (r[6], r[7], r[8])]
    return m.vec(*[(m.f32(a) * x + m.f32(b) * y) + m.f32(c) * z for a, b, c in rows])


def _env_texel(env: EnvironmentMap, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat texel index [P] and sin(theta) [P, 1] of environment-frame directions (shade.h env_texel)."""
    height, width = env.texels.shape[:2]
    st = m.sqrt(d[..., 0:1] * d[..., 0:1] + d[..., 2:3] * d[..., 2:3])
    theta = m.atan2_poly(st, d[..., 1:2])
    phi = m.atan2_poly(d[..., 0:1], -d[..., 2:3])
    u = phi * m.INV_TWO_PI + 0.5
    v = theta * m.INV_PI
    col = torch.floor(u * float(width)).to(torch.int64)
    col = torch.where(col >= width, col - width, col.clamp(min=0))
    row = torch.floor(v * float(height)).to(torch.int64).clamp(0, height - 1)
    return (row * width + col)[..., 0], st


def _env_pdf(env: EnvironmentMap, probability: torch.Tensor, sin_theta: torch.Tensor) -> torch.Tensor:
    height, width = env.texels.shape[:2]
    scale = m.f32(float(height * width) * m.INV_TWO_PI_SQUARED)  # float32 product, as in the kernel
    return m.divide(probability * scale, torch.clamp(sin_theta, min=m.SIN_THETA_MIN))


def environment_samples(env: EnvironmentMap, s: m.Surface, pixel: torch.Tensor) -> EnvSamples:
    """The kernel's sample construction (shade.h `env_samples`) for pixel indices [P] (int64)."""
    with torch.no_grad():
        dtype = s.n.dtype
        texels = env.texels.to(dtype).reshape(-1, 4)
        height, width = env.texels.shape[:2]
        flat_cdf = (torch.arange(height, dtype=torch.float64, device=pixel.device)[:, None]
                    + env.conditional.double()).reshape(-1)  # row i + CDF: one sorted array (exact)
        inv_n = (torch.tensor(1.0) / torch.tensor(float(env.samples))).item()  # float32 1 / spp
        n = s.n.detach()
        directions, radiances = [], []
        for k in range(env.samples):
            u = [random_uniform(env.seed, pixel, k, dim).to(dtype)[:, None] for dim in range(7)]
            # BRDF-lobe sample: specular (visible normals) with probability kS, else cosine.
            ll = torch.where(u[0] < s.k_spec, m.sample_ggx_vndf(s.v_local, s.alpha, u[1], u[2]),
                             m.sample_cosine(u[1], u[2]))
            l = s.t * ll[..., 0:1] + s.b * ll[..., 1:2] + n * ll[..., 2:3]
            texel, sin_theta = _env_texel(env, _rotate(env.rotation, l))
            tx = texels[texel]
            p_env = _env_pdf(env, tx[:, 3:4], sin_theta)
            p_brdf = m.lobe_pdf(ll, s.v_local, s.alpha2, s.k_spec)
            weight = torch.reciprocal(torch.clamp(p_brdf + p_env, min=m.PDF_FLOOR)) * inv_n
            lit = m.dot(n, l) > 0
            directions.append(l)
            radiances.append(torch.where(lit, tx[:, :3] * weight, 0.0))
            # Environment sample: row from the marginal CDF, column from the row's CDF, point in texel.
            row = torch.searchsorted(env.marginal.to(pixel.device), u[3][:, 0].float(), right=True)
            row = row.clamp(max=height - 1)
            target = row.double() + u[4][:, 0].double()
            col = (torch.searchsorted(flat_cdf, target, right=True) - row * width).clamp(0, width - 1)
            uu = m.divide(col[:, None].to(dtype) + u[5], float(width))
            vv = m.divide(row[:, None].to(dtype) + u[6], float(height))
            sin_t, cos_t = m.sincos_2pi(vv * 0.5)
            su, cu = m.sincos_2pi(uu)
            d = m.vec(-(sin_t * su), cos_t, sin_t * cu)
            l = _rotate(env.rotation, d, transposed=True)
            tx = texels[row * width + col]
            p_env = _env_pdf(env, tx[:, 3:4], sin_t)
            ll = m.vec(m.dot(l, s.t), m.dot(l, s.b), m.dot(l, n))
            p_brdf = m.lobe_pdf(ll, s.v_local, s.alpha2, s.k_spec)
            weight = torch.reciprocal(torch.clamp(p_brdf + p_env, min=m.PDF_FLOOR)) * inv_n
            directions.append(l)
            radiances.append(torch.where(ll[..., 2:3] > 0, tx[:, :3] * weight, 0.0))
        return EnvSamples(torch.stack(directions, dim=1), torch.stack(radiances, dim=1))


def shade_samples(s: m.Surface, directions: torch.Tensor, radiance: torch.Tensor):
    """Sum over the light axis of radiance * f * max(n.l, 0): directions, radiance [P, K, 3]."""
    diffuse, specular = _unsqueeze(s).radiance(directions, radiance)
    return diffuse.sum(dim=1), specular.sum(dim=1)


def _unsqueeze(s: m.Surface) -> m.Surface:
    """A view of the surface with a light axis: [P, C] -> [P, 1, C]."""
    out = m.Surface.__new__(m.Surface)
    out.__dict__.update({k: (v.unsqueeze(1) if isinstance(v, torch.Tensor) else v) for k, v in s.__dict__.items()})
    return out


def shade(
    albedo: torch.Tensor,  # [B, H, W, 3] linear
    roughness: torch.Tensor,  # [B, H, W, 1]
    metallic: torch.Tensor,  # [B, H, W, 1]
    normal: torch.Tensor,  # [B, H, W, 3] camera space, any length
    view: torch.Tensor | None,  # [B, H, W, 3] unit, or None (pinhole camera)
    lights,  # a light group or a list of them (kernels/lights.py)
    brdf: str = "disney",
    position: torch.Tensor | None = None,  # [B, H, W, 3], needed by point lights
    mask: torch.Tensor | None = None,  # [B, H, W, 1]
    fov_deg: float = DEFAULT_FOV_DEG,
) -> tuple[torch.Tensor, torch.Tensor]:  # diffuse, specular [B, H, W, 3]
    """Pure-PyTorch `shade` in the dtype of albedo (float32 matches the kernel; float64 for gradcheck)."""
    batch, height, width = albedo.shape[:3]
    dtype, device = albedo.dtype, albedo.device
    count = batch * height * width
    packed = pack_lights(lights, batch, device)
    if view is None:
        view = view_directions(height, width, fov_deg, device).expand(batch, height, width, 3)
    flat = [t.reshape(count, -1).to(dtype) for t in (albedo, roughness, metallic, normal, view)]
    a, r, met, n_raw, v = flat
    weight = torch.ones(count, 1, dtype=dtype, device=device) if mask is None else mask.reshape(count, 1).to(dtype)
    n_len2 = m.dot(n_raw, n_raw)
    valid = (weight != 0) & (n_len2 > 0)
    # where() before sqrt: no 0 * inf = NaN in the gradient of empty pixels
    n = n_raw * torch.reciprocal(m.sqrt(torch.where(valid, n_len2, torch.ones_like(n_len2))))
    s = m.Surface(brdf, a, r, met, n, v)
    pixel_batch = torch.arange(count, device=device) // (height * width)
    directions, radiances = [], []
    def per_pixel(t: torch.Tensor) -> torch.Tensor:  # [Bl, L, 3] -> [P, L, 3]
        return t.to(dtype).expand(batch, -1, -1)[pixel_batch]

    if packed.directional_direction.shape[1]:
        directions.append(per_pixel(packed.directional_direction))
        radiances.append(per_pixel(packed.directional_radiance))
    if packed.point_position.shape[1]:
        to_light = per_pixel(packed.point_position) - position.reshape(count, 1, 3).to(dtype)
        d2 = m.dot(to_light, to_light)
        directions.append(m.normalize(to_light))
        radiances.append(per_pixel(packed.point_intensity) * torch.reciprocal(torch.clamp(d2, min=1e-12)))
    pixel = torch.arange(count, dtype=torch.int64, device=device)
    for env in packed.env_maps:
        samples = environment_samples(env, s, pixel)
        directions.append(samples.direction)
        radiances.append(samples.radiance)
    diffuse = torch.zeros(count, 3, dtype=dtype, device=device)
    specular = torch.zeros(count, 3, dtype=dtype, device=device)
    if directions:
        diffuse, specular = shade_samples(s, torch.cat(directions, dim=1), torch.cat(radiances, dim=1))
    zero = torch.zeros((), dtype=dtype, device=device)
    diffuse = torch.where(valid, diffuse * weight, zero).reshape(batch, height, width, 3)
    specular = torch.where(valid, specular * weight, zero).reshape(batch, height, width, 3)
    return diffuse, specular
