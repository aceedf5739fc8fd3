"""What a material family builds (`Surface`), what it builds it from (`BuildContext`), parameter
ranges, and the height -> tangent-space normal conversion.

Map orientation (every procedural map): image order, row 0 is the TOP of the image, column 0 the
left; texture coordinates x = column / W, y = row / H (`noise.texture_coords`). Tangent-space
normals follow the OpenGL convention: +x toward increasing columns (right), +y toward the top of
the image (decreasing rows), +z out of the surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ParamRange:
    """Sampling range of one numeric family parameter (inclusive)."""

    low: float
    high: float
    kind: str = "float"  # "float", "int" (uniform integer), or "even" (uniform even integer)

    def sample(self, rng: np.random.Generator) -> float:
        if self.kind == "float":
            return float(rng.uniform(self.low, self.high))
        if self.kind == "int":
            return float(rng.integers(int(self.low), int(self.high) + 1))
        if self.kind == "even":
            return float(2 * rng.integers(int(self.low) // 2, int(self.high) // 2 + 1))
        raise ValueError(f"ParamRange.kind must be 'float', 'int' or 'even', got {self.kind!r}")

    def check(self, name: str, value: float) -> None:
        if not self.low <= value <= self.high:
            raise ValueError(f"parameter {name} must be in [{self.low}, {self.high}], got {value}")
        if self.kind in ("int", "even") and value != int(value):
            raise ValueError(f"parameter {name} must be an integer in [{self.low}, {self.high}], got {value}")
        if self.kind == "even" and int(value) % 2:
            raise ValueError(f"parameter {name} must be an even integer in [{self.low}, {self.high}], got {value}")


@dataclass
class BuildContext:
    """Inputs of a family builder (all tensors on one device, float32)."""

    x: torch.Tensor  # [H, W] texture x in [0, 1) (period 1)
    y: torch.Tensor  # [H, W] texture y in [0, 1) (period 1), in units of the texture height
    aspect: float  # H / W
    generator: torch.Generator  # the material's random stream
    colour: torch.Tensor  # [3] linear RGB main colour (jittered named colour)
    secondary: torch.Tensor | None  # [3] linear RGB joint / vein colour, or None
    roughness_range: tuple[float, float]  # the finish's main-surface roughness range
    variant: str
    params: dict[str, float]  # every parameter of the family's PARAMETERS, sampled or given

    def main_roughness(self, variation: torch.Tensor, amount: float = 0.5) -> torch.Tensor:
        """[H, W, 1] main-surface roughness: params['roughness'] moved by `amount` x the range
        width x (variation - 0.5) for a field `variation` [H, W] in [0, 1], clamped to the range."""
        low, high = self.roughness_range
        r = self.params["roughness"] + amount * (high - low) * (variation - 0.5)
        return r.clamp(low, high).unsqueeze(-1)


@dataclass
class Surface:
    """What a family builder returns (image order, row 0 at the top)."""

    albedo: torch.Tensor  # [H, W, 3] linear RGB in [0, 1] (base colour; F0 for metals)
    roughness: torch.Tensor  # [H, W, 1] in [0, 1]
    metallic: torch.Tensor  # [H, W, 1] in [0, 1]
    height: torch.Tensor  # [H, W, 1] in [0, 1]
    bump_depth: float  # physical height of height = 1, in texture-width units


def mix(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """a * (1 - t) + b * t with t [H, W] broadcast over channels."""
    return torch.lerp(a, b, t.unsqueeze(-1) if t.dim() == a.dim() - 1 else t)


def height_to_normal(
    height: torch.Tensor,  # [H, W, 1] (or [H, W]) height in [0, 1], image order
    bump_depth: float,  # physical height of height = 1, in texture-width units
) -> torch.Tensor:  # [H, W, 3] float32 unit tangent-space normals, OpenGL convention
    """Tangent-space normal map of a periodic height field by central differences that wrap around
    the border (so the normal map tiles like the height).

    Slopes in texture-width units: a pixel is 1 / W wide and tall, so d(height)/dx = bump_depth * W
    * (h[c + 1] - h[c - 1]) / 2. n = normalize(-dh/dx, +dh/drow, 1): +y points to the top of the
    image, i.e. toward decreasing rows (OpenGL / "green up").
    """
    h = height[..., 0] if height.dim() == 3 else height
    if h.dim() != 2:
        raise ValueError(f"height must have shape [H, W, 1] or [H, W], got {tuple(height.shape)}")
    if bump_depth < 0:
        raise ValueError(f"bump_depth must be >= 0 (texture-width units), got {bump_depth}")
    scale = bump_depth * h.shape[1] * 0.5
    d_col = (torch.roll(h, -1, dims=1) - torch.roll(h, 1, dims=1)) * scale
    d_row = (torch.roll(h, -1, dims=0) - torch.roll(h, 1, dims=0)) * scale
    n = torch.stack([-d_col, d_row, torch.ones_like(h)], dim=-1)
    return n / n.norm(dim=-1, keepdim=True)
