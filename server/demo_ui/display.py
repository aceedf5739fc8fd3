"""Images for the browser: each map of a texture set as an 8-bit PNG, and the relit render.

Maps are shown as an engine would sample them: albedo sRGB-encoded, normals OpenGL-encoded
(rgb = 0.5 n + 0.5), scalar maps as grey. The render is `intrinsix.pbr.relight_preview` (the
published demo composite, shaded by `intrinsix.kernels.shade`), computed in this process for each
light position, so moving a light slider never regenerates the material.
"""

from __future__ import annotations

import math

import numpy as np

from intrinsix.pbr import TextureSet, light_direction, relight_preview
from intrinsix.pbr.colorspace import linear_to_srgb
from intrinsix.pbr.normals import encode_normals
from intrinsix.pbr.png import encode_png8, quantize

# Longest side of the relit render in pixels: large maps are shaded at this size (a 2048^2 set
# would otherwise take seconds per slider move on a CPU); the page scales the image anyway.
MAX_RENDER_SIDE = 512
# Labels and order of the maps on the page (pbr.MAP_SEMANTICS names).
MAP_LABELS = {
    "albedo": "Albedo (sRGB)",
    "roughness": "Roughness",
    "metallic": "Metallic",
    "normal": "Normal (OpenGL)",
    "ambient_occlusion": "Ambient occlusion",
    "height": "Height",
}


def map_png(texture_set: TextureSet, semantic: str) -> bytes:
    """8-bit PNG of one map: albedo RGB sRGB, normal RGB 0.5 n + 0.5 (OpenGL), others grey."""
    if semantic not in MAP_LABELS:
        raise ValueError(f"semantic must be one of {tuple(MAP_LABELS)}, got {semantic!r}")
    data = texture_set[semantic].data  # [H, W, C] float32, albedo linear, normals OpenGL unit vectors
    if semantic == "albedo":
        data = linear_to_srgb(data)
    elif semantic == "normal":
        data = encode_normals(data)
    return encode_png8(quantize(data.cpu().numpy(), 8))


def parse_light(latitude: str | float, longitude: str | float) -> tuple[float, float]:
    """Light angles in degrees from query strings; ValueError names the bad one and the range."""
    values = []
    for label, text, low, high in (("lat", latitude, 0.0, 90.0), ("lon", longitude, -90.0, 90.0)):
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise ValueError(f"{label} must be a number of degrees in [{low:g}, {high:g}], got {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"{label} must be a number of degrees in [{low:g}, {high:g}], got {text!r}")
        values.append(value)
    light_direction(values[0], values[1])  # the same check the renderer applies
    return values[0], values[1]


def render_png(texture_set: TextureSet, latitude_deg: float, longitude_deg: float,
               max_side: int = MAX_RENDER_SIDE) -> bytes:
    """8-bit sRGB PNG of the material under one white directional light (pbr.relight_preview),
    at the maps' resolution or `max_side` on the longer side, whichever is smaller."""
    rows, cols = texture_set.resolution
    size = None if max(rows, cols) <= max_side else max_side
    image = relight_preview(texture_set, latitude_deg, longitude_deg, size=size)  # [H, W, 3] uint8
    return encode_png8(np.ascontiguousarray(image))
