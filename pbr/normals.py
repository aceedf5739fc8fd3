"""Normal maps: conventions and the [-1, 1] <-> [0, 1] storage encoding.

Axes (tangent space of the material plane, image seen face-on): +X to the right of the image,
+Y toward the top of the image, +Z out of the surface toward the viewer.
- "opengl" (glTF, Godot, Unity, Blender): the green channel stores +Y (up).
- "directx" (Unreal): the green channel stores -Y, i.e. Y is flipped.
The generator's camera-space normals (REFERENCE §1: +x right, +y up, +z toward the viewer) ARE
tangent-space OpenGL normals of the material, because its camera looks straight at the material
plane: the image axes are the tangent and bitangent and the view axis is the surface normal.
"""

from __future__ import annotations

import torch

NORMAL_CONVENTIONS = ("opengl", "directx")


def check_convention(convention: str, name: str = "normal_convention") -> str:
    if convention not in NORMAL_CONVENTIONS:
        raise ValueError(f"{name} must be one of {NORMAL_CONVENTIONS}, got {convention!r}")
    return convention


def convert_convention(
    normal: torch.Tensor,  # [..., 3] unit vectors in convention `source`
    source: str,
    target: str,
) -> torch.Tensor:  # [..., 3] unit vectors in convention `target`
    """Flip the Y component when the two conventions differ (OpenGL <-> DirectX); X and Z stay."""
    check_convention(source, "source")
    check_convention(target, "target")
    if source == target:
        return normal
    return normal * normal.new_tensor([1.0, -1.0, 1.0])


def normalize_normals(normal: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:  # [..., 3] -> [..., 3]
    """Scale each vector to unit length (zero vectors stay zero; callers reject them first)."""
    return normal / normal.norm(dim=-1, keepdim=True).clamp_min(eps)


def encode_normals(normal: torch.Tensor) -> torch.Tensor:  # [..., 3] in [-1, 1] -> [..., 3] in [0, 1]
    """The usual storage mapping of normal maps: rgb = 0.5 * n + 0.5 (linear, no sRGB curve)."""
    return (normal * 0.5 + 0.5).clamp(0.0, 1.0)


def decode_normals(rgb: torch.Tensor) -> torch.Tensor:  # [..., 3] in [0, 1] -> [..., 3] unit vectors
    """Inverse of encode_normals followed by renormalisation: n = normalize(2 rgb - 1)."""
    return normalize_normals(rgb * 2.0 - 1.0)
