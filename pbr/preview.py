"""Relit preview of a texture set: the published IntrinsiX demo composite (REFERENCE.md section 4),
rendered with our `intrinsix.kernels.shade` (imported lazily, so the rest of `pbr` works without
the compiled kernels).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .maps import TextureSet
from .normals import normalize_normals

# Radiance of the preview light: with pi, a white Lambertian surface facing the light reflects 1.
DEFAULT_INTENSITY = math.pi
_TONE_MAP_GAIN = 64.0  # log(1 + 64 x) / log(65)


def light_direction(latitude_deg: float, longitude_deg: float) -> tuple[float, float, float]:
    """Unit vector toward the light in camera space (+x right, +y up, +z toward the viewer).

    latitude in [0, 90] degrees is the elevation toward the top of the image, longitude in
    [-90, 90] degrees the turn toward the right (+) or left (-) of the image:
        l = (cos(lat) sin(lon), sin(lat), cos(lat) cos(lon)).
    (0, 0) puts the light at the camera, facing the material; latitude 90 is grazing from the top.
    """
    for label, value, low, high in (("light_latitude_deg", latitude_deg, 0.0, 90.0),
                                    ("light_longitude_deg", longitude_deg, -90.0, 90.0)):
        if not isinstance(value, (int, float)) or not (low <= value <= high):
            raise ValueError(f"{label} must be a number in [{low:g}, {high:g}] degrees, got {value!r}")
    lat, lon = math.radians(latitude_deg), math.radians(longitude_deg)
    return (math.cos(lat) * math.sin(lon), math.sin(lat), math.cos(lat) * math.cos(lon))


def preview_composite(albedo: torch.Tensor, diffuse: torch.Tensor, specular: torch.Tensor
                      ) -> torch.Tensor:  # [..., 3] linear RGB each -> [..., 3] linear RGB in [0, 1]
    """The published demo composite before its tone map (REFERENCE.md section 4):
    0.8 (diffuse + specular) + 0.2 albedo, clamped to [0, 1]."""
    return (0.8 * (diffuse + specular) + 0.2 * albedo).clamp(0.0, 1.0)


def _preview_resolution(size, resolution: tuple[int, int]) -> tuple[int, int]:
    if size is None:
        return resolution
    if isinstance(size, int) and not isinstance(size, bool):
        if not 1 <= size <= 16384:
            raise ValueError(f"size must be in [1, 16384] (longer side in pixels), got {size}")
        rows, cols = resolution
        scale = size / max(rows, cols)
        return max(1, round(rows * scale)), max(1, round(cols * scale))
    if (isinstance(size, (tuple, list)) and len(size) == 2
            and all(isinstance(s, int) and 1 <= s <= 16384 for s in size)):
        return int(size[0]), int(size[1])
    raise ValueError(f"size must be None, an int (longer side) or a pair (height, width) in [1, 16384], got {size!r}")


def _resized(data: torch.Tensor, resolution: tuple[int, int]) -> torch.Tensor:  # [H, W, C] -> [1, h, w, C]
    image = data.permute(2, 0, 1)[None]
    if tuple(image.shape[-2:]) != resolution:
        image = F.interpolate(image, size=resolution, mode="bilinear", align_corners=False, antialias=True)
    return image.permute(0, 2, 3, 1).contiguous()


def relight_preview(
    texture_set: TextureSet,
    light_latitude_deg: float = 45.0,
    light_longitude_deg: float = 0.0,
    size: int | tuple[int, int] | None = None,
    *,
    intensity: float = DEFAULT_INTENSITY,
    output: str = "uint8",
) -> np.ndarray:  # [H, W, 3] display values: uint8 0..255, or float32 0..1
    """Render the material lit by one white directional light, as the published demo does.

    rgb = 0.8 (diffuse + specular) + 0.2 albedo_linear, clamped to [0, 1], then tone mapped with
    log(1 + 64 x) / log(65). diffuse and specular come from intrinsix.kernels.shade ("disney" BRDF,
    REFERENCE camera: pinhole looking down -z, 85 degrees horizontal field of view), with a
    light of radiance `intensity` (white) from light_direction(latitude, longitude).
    size: None (the maps' resolution), an int (longer side) or (height, width).
    output: "uint8" (0..255) or "float" (float32 in [0, 1]). The result is for display as is.
    """
    try:
        from ..kernels import DirectionalLights, shade
    except ImportError as error:
        raise ImportError("relight_preview needs intrinsix.kernels.shade and DirectionalLights (the compiled "
                          f"kernels): {error}") from error
    if not isinstance(texture_set, TextureSet):
        raise TypeError(f"texture_set must be a TextureSet, got {type(texture_set).__name__}")
    if output not in ("uint8", "float"):
        raise ValueError(f"output must be 'uint8' or 'float', got {output!r}")
    if not (isinstance(intensity, (int, float)) and math.isfinite(intensity) and intensity >= 0):
        raise ValueError(f"intensity must be a finite number >= 0, got {intensity!r}")
    direction = light_direction(light_latitude_deg, light_longitude_deg)
    resolution = _preview_resolution(size, texture_set.resolution)

    albedo = _resized(texture_set["albedo"].data, resolution).clamp(0.0, 1.0)
    roughness = _resized(texture_set["roughness"].data, resolution).clamp(0.0, 1.0)
    metallic = _resized(texture_set["metallic"].data, resolution).clamp(0.0, 1.0)
    normal = normalize_normals(_resized(texture_set["normal"].data, resolution))
    # Texture sets store rows top first; the kernels' images (and their default view vectors) put
    # row 0 at the bottom (OpenGL order). Flip rows in, shade, flip back.
    albedo, roughness, metallic, normal = (t.flip(1) for t in (albedo, roughness, metallic, normal))

    lights = DirectionalLights(direction=torch.tensor([direction], dtype=torch.float32, device=albedo.device),
                               radiance=torch.full((1, 3), float(intensity), dtype=torch.float32,
                                                   device=albedo.device))
    with torch.no_grad():
        diffuse, specular = shade(albedo, roughness, metallic, normal, view=None, lights=lights, brdf="disney")
        rgb = preview_composite(albedo, diffuse, specular)
        display = torch.log1p(_TONE_MAP_GAIN * rgb) / math.log1p(_TONE_MAP_GAIN)
    image = display.flip(1)[0].cpu().numpy().astype(np.float32)
    if output == "float":
        return image
    return np.rint(image * 255.0).astype(np.uint8)
