"""From typed maps to file bytes: sRGB encoding, normal convention and encoding, channel packing,
quantisation, PNG/EXR encoding. Each function returns one `ExportedFile` with its metadata.

Stored values:
- base colour: sRGB-encoded albedo (the only sRGB file).
- normals in PNG: rgb = 0.5 * n + 0.5 (linear); in EXR: rgb = n in [-1, 1].
- everything else: linear values in [0, 1] (height normalised; its scale is in the manifest).
"""

from __future__ import annotations

import numpy as np

from .colorspace import linear_to_srgb
from .exr import encode_exr
from .files import ExportedFile
from .maps import TextureSet
from .normals import encode_normals
from .png import encode_png8, encode_png16, quantize

ORM_PACKING = "R=ambient_occlusion,G=roughness,B=metallic"
# Unity: metallic in R and smoothness (1 - roughness) in A (Standard/URP metallic map); AO in G and
# B = 1 make the same image a valid HDRP mask map (G occlusion, B detail mask).
UNITY_PACKING = "R=metallic,G=ambient_occlusion,B=one,A=smoothness"
NORMAL_PACKING = "R=normal_x,G=normal_y,B=normal_z"


def _channel(texture_set: TextureSet, semantic: str) -> np.ndarray:  # [H, W] float32
    return texture_set[semantic].numpy()[..., 0]


def _image_file(name: str, semantic: str, color_space: str, values: np.ndarray, bits: int,
                texture_set: TextureSet, **extra) -> ExportedFile:
    """PNG file of [H, W, C] values in [0, 1] at 8 or 16 bits."""
    pixels = quantize(values, bits)
    data = encode_png8(pixels) if bits == 8 else encode_png16(pixels)
    rows, cols, channels = values.shape
    return ExportedFile(name=name, semantic=semantic, color_space=color_space, format=f"png{bits}", width=cols,
                        height=rows, channels=channels, data=data, tiling=texture_set.tiling, **extra)


def base_color_png(texture_set: TextureSet, name: str) -> ExportedFile:
    """RGB 8-bit PNG of the albedo, sRGB-encoded (exact piecewise sRGB OETF)."""
    encoded = linear_to_srgb(texture_set["albedo"].data).cpu().numpy()
    return _image_file(name, "base_color", "srgb", encoded, 8, texture_set)


def normal_png(texture_set: TextureSet, name: str, convention: str, bits: int = 8) -> ExportedFile:
    """RGB PNG (8 or 16 bits) of the tangent-space normals in `convention` ("opengl"/"directx")."""
    normal = texture_set["normal"].with_convention(convention).data
    values = encode_normals(normal).cpu().numpy()
    return _image_file(name, "normal", "linear", values, bits, texture_set, normal_convention=convention,
                       packing=NORMAL_PACKING)


def orm_png(texture_set: TextureSet, name: str) -> ExportedFile:
    """RGB 8-bit PNG, linear: R = ambient occlusion, G = roughness, B = metallic (Unreal ORM,
    Godot ORMMaterial3D, glTF occlusion + metallicRoughness)."""
    values = np.stack([_channel(texture_set, "ambient_occlusion"), _channel(texture_set, "roughness"),
                       _channel(texture_set, "metallic")], axis=-1)
    return _image_file(name, "orm", "linear", values, 8, texture_set, packing=ORM_PACKING)


def metallic_smoothness_png(texture_set: TextureSet, name: str) -> ExportedFile:
    """RGBA 8-bit PNG, linear: R = metallic, G = ambient occlusion, B = 1, A = 1 - roughness."""
    metallic = _channel(texture_set, "metallic")
    values = np.stack([metallic, _channel(texture_set, "ambient_occlusion"), np.ones_like(metallic),
                       1.0 - _channel(texture_set, "roughness")], axis=-1)
    return _image_file(name, "metallic_smoothness", "linear", values, 8, texture_set, packing=UNITY_PACKING)


def grey_png(texture_set: TextureSet, semantic: str, name: str, bits: int) -> ExportedFile:
    """One-channel linear PNG (8 or 16 bits) of a [0, 1] map (height, ambient_occlusion, ...)."""
    texture_map = texture_set[semantic]
    return _image_file(name, semantic, "linear", texture_map.numpy(), bits, texture_set,
                       derived=texture_map.derived)


def map_exr(texture_set: TextureSet, semantic: str, name: str, precision: str = "float",
            grey_channel: str = "Y") -> ExportedFile:
    """Linear EXR of one map, values as stored in the set (normals as unit vectors in [-1, 1],
    OpenGL). RGB maps use channels R, G, B; one-channel maps use `grey_channel` ("Y" or "R")."""
    texture_map = texture_set[semantic]
    values = texture_map.numpy()
    if texture_map.channels == 3:
        names = ("R", "G", "B")
        packing = NORMAL_PACKING if semantic == "normal" else None
    else:
        names = (grey_channel,)
        packing = f"{grey_channel}={semantic}"
    data = encode_exr({channel: values[..., i] for i, channel in enumerate(names)}, precision)
    rows, cols = texture_map.resolution
    return ExportedFile(name=name, semantic="base_color" if semantic == "albedo" else semantic,
                        color_space="linear", format=f"exr_{precision}", width=cols, height=rows,
                        channels=len(names), data=data, normal_convention=texture_map.normal_convention,
                        packing=packing, tiling=texture_set.tiling, derived=texture_map.derived)
