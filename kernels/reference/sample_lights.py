"""Twin of `intrinsix.kernels.sample_lights` (see docs/kernels/sample_lights.md)."""

from __future__ import annotations

import torch

from ..lights import view_directions
from ..sample_lights import LIGHT_RADIANCE, SampledLights


def pinhole_view(batch: int, height: int, width: int, device=None) -> torch.Tensor:  # [B, H, W, 3]
    """View vectors of the REFERENCE.md section 4 camera; row 0 is the bottom (y_ndc = -1)."""
    return view_directions(height, width).expand(batch, height, width, 3).to(device)


def pick_weights(roughness: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:  # [B, H * W]
    """max(1 - roughness, 0), 0 where masked; all-zero images fall back to uniform over valid pixels."""
    batch = roughness.shape[0]
    weight = (1 - roughness.reshape(batch, -1).float()).clamp(min=0)
    valid = torch.ones_like(weight, dtype=torch.bool) if mask is None else mask.reshape(batch, -1)
    weight = torch.where(valid, weight, torch.zeros_like(weight))
    all_zero = weight.amax(dim=1, keepdim=True) == 0
    return torch.where(all_zero, valid.float(), weight)


def sample_lights_from_uniform(
    roughness: torch.Tensor,  # [B, H, W, 1]
    normal: torch.Tensor,  # [B, H, W, 3]
    view: torch.Tensor | None,  # [B, H, W, 3] or None
    u: torch.Tensor,  # [B, n] in [0, 1)
    mask: torch.Tensor | None = None,  # [B, H, W] or [B, H, W, 1] bool
) -> SampledLights:
    batch, height, width = roughness.shape[:3]
    if mask is not None and mask.dim() == 4:
        mask = mask[..., 0]
    with torch.no_grad():
        cdf = pick_weights(roughness, mask).double().cumsum(dim=1)  # [B, P]
        target = u.double() * cdf[:, -1:]
        picked = torch.searchsorted(cdf, target, right=True).clamp(max=height * width - 1)  # [B, n]
        if view is None:
            view = pinhole_view(batch, height, width, roughness.device)
        b = torch.arange(batch, device=roughness.device).unsqueeze(1)
        n = normal.reshape(batch, -1, 3).float()[b, picked]
        v = view.reshape(batch, -1, 3).float()[b, picked]
        n = n / n.norm(dim=-1, keepdim=True)
        v = v / v.norm(dim=-1, keepdim=True)
        direction = 2 * (n * v).sum(dim=-1, keepdim=True) * n - v
        direction = direction / direction.norm(dim=-1, keepdim=True)
        pixel = torch.stack([picked // width, picked % width], dim=-1)
        radiance = torch.full_like(direction, LIGHT_RADIANCE)
    return SampledLights(direction, pixel, radiance)


def sample_lights(
    roughness: torch.Tensor,  # [B, H, W, 1]
    normal: torch.Tensor,  # [B, H, W, 3]
    view: torch.Tensor | None = None,  # [B, H, W, 3]
    n: int = 5,
    generator: torch.Generator | None = None,
    mask: torch.Tensor | None = None,  # [B, H, W] or [B, H, W, 1]
) -> SampledLights:
    u = torch.rand(roughness.shape[0], n, generator=generator, device=roughness.device)
    return sample_lights_from_uniform(roughness, normal, view, u, mask)

