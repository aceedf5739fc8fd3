"""Photos of the bank's materials: what the demo base can learn instead of bare albedos.

FLUX.1-dev, which IntrinsiX adapts, learnt from photographs: a photo of black leather shows its
grain through the sheen, a photo of concrete its pits under a low light, a photo of polished gold
its highlight. A base trained on albedo maps only (the bundled model) sees none of that: a black
leather's albedo is uniformly black, so the normal LoRA has no texture in the base to turn into
relief, and its maps come out flat (docs/demo-model.md, "Known weaknesses"). `--base-maps photo`
(alone or with albedo) trains the base on these renders instead.

A photo is the flat material under one white directional light, seen from straight above
(orthographic view, so a rolled material stays seamless): the relit preview's composite
(`pbr.preview.preview_composite`, REFERENCE.md section 4) without its display tone map,

    photo = clamp(0.8 (diffuse + specular) + 0.2 albedo, 0, 1)   linear RGB,

with the "disney" BRDF of `intrinsix.kernels.shade` and a light of radiance pi (the preview's
DEFAULT_INTENSITY: a white Lambertian surface facing the light reflects 1). Each material gets its
own light: at an angle from the surface normal drawn uniformly in PHOTO_LATITUDE_DEG (30 deg:
steep; 75 deg: low, grazing, where fine relief shows most), turned uniformly around the normal.
The VAE sees a photo through the albedo path (the model's albedo encoding: sRGB for the demo
model, as image VAEs see photographs).
"""

from __future__ import annotations

import math

import torch

from ...pbr.preview import DEFAULT_INTENSITY, preview_composite

# Latitude of the light: its angle from the surface normal, in degrees (the preview's default is 45).
PHOTO_LATITUDE_DEG = (30.0, 75.0)


def photo_lights(count: int, generator: torch.Generator) -> torch.Tensor:  # -> [count, 1, 3] unit, CPU
    """One random light direction per photo (module docstring), camera space: +z toward the viewer."""
    low, high = (math.radians(v) for v in PHOTO_LATITUDE_DEG)
    latitude = low + (high - low) * torch.rand(count, generator=generator)
    turn = (2.0 * torch.rand(count, generator=generator) - 1.0) * math.pi
    direction = torch.stack([latitude.sin() * turn.cos(), latitude.sin() * turn.sin(), latitude.cos()], dim=-1)
    return direction[:, None, :]


@torch.no_grad()
def render_photos(
    albedo: torch.Tensor,  # [N, S, S, 3] linear RGB in [0, 1] (any float dtype, any device)
    material: torch.Tensor,  # [N, S, S, 3] R roughness, G metallic
    normal: torch.Tensor,  # [N, S, S, 3] unit vectors, OpenGL tangent space
    generator: torch.Generator,  # CPU generator for the light directions
    batch_size: int = 64,
) -> torch.Tensor:  # [N, S, S, 3] float32 linear RGB in [0, 1], on the maps' device
    """Photos of materials (module docstring), shaded by the project's kernels on the maps' device."""
    try:
        from ...kernels import DirectionalLights, shade
    except ImportError as error:
        raise ImportError(f"photos of the bank need the compiled kernels (intrinsix.kernels.shade): {error}") from error
    count = albedo.shape[0]
    lights = photo_lights(count, generator).to(albedo.device)
    out = []
    for start in range(0, count, batch_size):
        stop = min(count, start + batch_size)
        a = albedo[start:stop].float().clamp(0.0, 1.0).contiguous()
        m = material[start:stop].float().clamp(0.0, 1.0)
        n = normal[start:stop].float().contiguous()
        view = torch.zeros_like(n)
        view[..., 2] = 1.0  # orthographic: every pixel looks straight down the material's normal
        direction = lights[start:stop]
        group = DirectionalLights(direction=direction, radiance=torch.full_like(direction, DEFAULT_INTENSITY))
        diffuse, specular = shade(a, m[..., 0:1].contiguous(), m[..., 1:2].contiguous(), n, view=view,
                                  lights=group, brdf="disney")
        out.append(preview_composite(a, diffuse, specular))
    return torch.cat(out) if out else albedo.new_zeros(albedo.shape, dtype=torch.float32)
