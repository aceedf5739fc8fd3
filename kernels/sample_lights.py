"""`sample_lights`: IntrinsiX importance-weighted light sampling for the re-render loss
(REFERENCE.md section 3; docs/kernels/sample_lights.md)."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from . import _backend, _checks
from .lights import tan_half_fov

LIGHT_RADIANCE = math.e  # IntrinsiX's directional light radiance, white (REFERENCE.md section 3)
MAX_LIGHTS = 1 << 24


class SampledLights(NamedTuple):
    """Directional lights picked by `sample_lights` (no gradient)."""

    direction: torch.Tensor  # [B, n, 3] float32 unit vectors, camera space, from the surface toward the light
    pixel: torch.Tensor  # [B, n, 2] int64 (row, column) of the picked pixel; row 0 is the bottom row
    radiance: torch.Tensor  # [B, n, 3] float32 linear RGB radiance, e (~2.718) white


def _check_finite(t: torch.Tensor, name: str, allowed: str) -> None:
    finite = torch.isfinite(t)
    if not bool(finite.all()):
        raise ValueError(f"{name} contains {int((~finite).sum())} NaN or infinite values; allowed: {allowed}")


def _check_maps(roughness, normal, view, mask) -> torch.Tensor | None:
    """Validates the per-pixel inputs; returns mask as bool [B, H, W] (or None)."""
    _checks.check_float_tensor(roughness, "roughness", "[B, H, W, 1]", last_dim=1, dims=(4,))
    pixels = tuple(roughness.shape[:3])
    if pixels[1] * pixels[2] == 0:
        raise ValueError(f"roughness must have at least one pixel, got shape {tuple(roughness.shape)}")
    _checks.check_float_tensor(normal, "normal", "[B, H, W, 3]", last_dim=3, dims=(4,))
    if tuple(normal.shape[:3]) != pixels:
        raise ValueError(f"normal must have shape [B, H, W, 3] = {list(pixels) + [3]} like roughness, "
                         f"got {tuple(normal.shape)}")
    tensors = {"roughness": roughness, "normal": normal}
    if view is not None:
        _checks.check_float_tensor(view, "view", "[B, H, W, 3]", last_dim=3, dims=(4,))
        if tuple(view.shape[:3]) != pixels:
            raise ValueError(f"view must have shape [B, H, W, 3] = {list(pixels) + [3]} like roughness, "
                             f"got {tuple(view.shape)}")
        tensors["view"] = view
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            got = mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise TypeError(f"mask must be a bool tensor [B, H, W] or [B, H, W, 1] (True = valid pixel), got {got}")
        if mask.dim() == 4 and mask.shape[3] == 1:
            mask = mask[..., 0]
        if tuple(mask.shape) != pixels:
            raise ValueError(f"mask must have shape [B, H, W] = {list(pixels)} (or [B, H, W, 1]) like roughness, "
                             f"got {tuple(mask.shape)}")
        tensors["mask"] = mask
    _checks.check_same_device(**tensors)
    _check_finite(roughness, "roughness", "finite values (weights are 1 - roughness, clamped to >= 0)")
    _check_finite(normal, "normal", "finite camera-space normals")
    if view is not None:
        _check_finite(view, "view", "finite camera-space view vectors")
    if mask is not None:
        empty = ~mask.flatten(1).any(dim=1)
        if bool(empty.any()):
            images = empty.nonzero().flatten().tolist()
            raise ValueError(f"mask has no valid (True) pixel in image(s) {images}; every image needs at least one")
    return mask


def sample_lights_from_uniform(
    roughness: torch.Tensor,  # [B, H, W, 1] float, predicted roughness in [0, 1]
    normal: torch.Tensor,  # [B, H, W, 3] float, camera-space normals (OpenGL), need not be unit
    view: torch.Tensor | None,  # [B, H, W, 3] float, camera-space vectors toward the camera, or None
    u: torch.Tensor,  # [B, n] float32 uniform numbers in [0, 1), one per light
    mask: torch.Tensor | None = None,  # [B, H, W] or [B, H, W, 1] bool, True = valid pixel
) -> SampledLights:
    """`sample_lights` with explicit uniform numbers: the same `u` gives the same picks on the CPU,
    on CUDA and in the twin (`intrinsix.kernels.reference.sample_lights_from_uniform`)."""
    mask = _check_maps(roughness, normal, view, mask)
    _checks.check_float_tensor(u, "u", "[B, n]", dims=(2,))
    if u.shape[0] != roughness.shape[0] or not 1 <= u.shape[1] <= MAX_LIGHTS:
        raise ValueError(f"u must have shape [B, n] = [{roughness.shape[0]}, n] with n in [1, {MAX_LIGHTS}], "
                         f"got {tuple(u.shape)}")
    _checks.check_same_device(roughness=roughness, u=u)
    if not bool(((u >= 0) & (u < 1)).all()):
        raise ValueError(f"u must lie in [0, 1), got values in [{float(u.min())}, {float(u.max())}]")
    with torch.no_grad():
        direction, pixel = _backend.ops().sample_lights(
            roughness.detach().float().contiguous(),
            normal.detach().float().contiguous(),
            None if view is None else view.detach().float().contiguous(),
            None if mask is None else mask.contiguous(),
            u.detach().float().contiguous(),
            *tan_half_fov(roughness.shape[1], roughness.shape[2]),
        )
        radiance = torch.full_like(direction, LIGHT_RADIANCE)
    return SampledLights(direction, pixel, radiance)


def sample_lights(
    roughness: torch.Tensor,  # [B, H, W, 1] float, predicted roughness in [0, 1]
    normal: torch.Tensor,  # [B, H, W, 3] float, camera-space normals (OpenGL), need not be unit
    view: torch.Tensor | None = None,  # [B, H, W, 3] float toward the camera; None = default pinhole camera
    n: int = 5,
    generator: torch.Generator | None = None,
    mask: torch.Tensor | None = None,  # [B, H, W] or [B, H, W, 1] bool, True = valid pixel
) -> SampledLights:  # direction [B, n, 3], pixel [B, n, 2] int64, radiance [B, n, 3]
    """IntrinsiX importance-weighted light sampling: `n` directional lights per image.

    Each light independently picks one pixel with probability proportional to max(1 - roughness, 0)
    (masked pixels never; an image whose weights are all 0 picks uniformly among its valid pixels)
    and points along that pixel's mirror direction l = 2 n (n.v) - v (n and v normalised), so the
    pixel sees the peak of its specular highlight. Radiance is e (~2.718) white.

    view=None uses the REFERENCE.md section 4 camera: pinhole at the origin looking down -z,
    horizontal FOV 85 deg, pixel centre (x, y, -1) with x = x_ndc tan(42.5 deg),
    y = y_ndc tan(42.5 deg) H / W, v = normalize(-x, -y, 1); row 0 is the bottom (y_ndc = -1).

    The uniform numbers are torch.rand(B, n, generator=generator) on the inputs' device, so a seeded
    generator makes the picks reproducible. No gradient: the op runs under no_grad and its outputs
    are detached (the lights are constants of the re-render loss).
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_LIGHTS:
        raise ValueError(f"n must be an int in [1, {MAX_LIGHTS}], got {n!r}")
    _checks.check_float_tensor(roughness, "roughness", "[B, H, W, 1]", last_dim=1, dims=(4,))
    device = roughness.device  # the other inputs are checked against it by sample_lights_from_uniform
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        if generator.device.type != device.type:
            raise ValueError(f"generator is on {generator.device} but the inputs are on {device}; "
                             f"pass a torch.Generator(device='{device.type}')")
    u = torch.rand(roughness.shape[0], n, generator=generator, device=device)
    return sample_lights_from_uniform(roughness, normal, view, u, mask)
