"""Periodic noise on the unit torus: every field here tiles with period 1 in x and in y.

Texture coordinates: x = column / W in [0, 1) (left to right), y = row / H in [0, 1) (top to
bottom), with the same random global offset in every field of one material. Every function takes
x, y as float tensors [H, W] (possibly warped by other periodic fields) and is periodic because it
only ever reads its random lattice at integer indices modulo the lattice size, and lattice sizes are
integers. So a material built from these fields has no seam at the texture border.

All randomness comes from an explicit `torch.Generator` (no global RNG state).
"""

from __future__ import annotations

import math

import torch


def texture_coords(height: int, width: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) [H, W] float32 texture coordinates in [0, 1), shifted by one random offset per axis
    (so pattern edges do not always sit on the border). y is measured in units of the height."""
    offset = torch.rand(2, generator=generator, dtype=torch.float64)
    cols = (torch.arange(width, dtype=torch.float64) / width + offset[0]) % 1.0
    rows = (torch.arange(height, dtype=torch.float64) / height + offset[1]) % 1.0
    y, x = torch.meshgrid(rows.float(), cols.float(), indexing="ij")
    return x, y


def _quintic(t: torch.Tensor) -> torch.Tensor:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def value_noise(
    x: torch.Tensor,  # [H, W] float, period 1
    y: torch.Tensor,  # [H, W] float, period 1
    cells: tuple[int, int],  # (cells along x, cells along y): integer lattice sizes
    generator: torch.Generator,
) -> torch.Tensor:  # [H, W] float32 in [0, 1]
    """Smooth value noise: random values on a periodic (cells_x x cells_y) lattice, quintic
    interpolation. Different cell counts per axis give anisotropic (streaky) noise."""
    cx, cy = int(cells[0]), int(cells[1])
    if cx < 1 or cy < 1:
        raise ValueError(f"cells must be >= 1 per axis, got {cells}")
    lattice = torch.rand(cy, cx, generator=generator)
    fx, fy = x * cx, y * cy
    x0, y0 = torch.floor(fx), torch.floor(fy)
    tx, ty = _quintic(fx - x0), _quintic(fy - y0)
    i0, j0 = x0.long() % cx, y0.long() % cy
    i1, j1 = (i0 + 1) % cx, (j0 + 1) % cy
    top = torch.lerp(lattice[j0, i0], lattice[j0, i1], tx)
    bottom = torch.lerp(lattice[j1, i0], lattice[j1, i1], tx)
    return torch.lerp(top, bottom, ty)


def fbm(
    x: torch.Tensor,  # [H, W]
    y: torch.Tensor,  # [H, W]
    cells: tuple[int, int],  # lattice size of the first octave
    generator: torch.Generator,
    octaves: int = 4,
    gain: float = 0.5,
) -> torch.Tensor:  # [H, W] float32, in [0, 1], mean about 0.5
    """Fractal sum of `octaves` value-noise layers; each octave doubles the (integer) lattice size
    and multiplies the amplitude by `gain`. Normalised by the total amplitude."""
    total = torch.zeros_like(x)
    amplitude, norm = 1.0, 0.0
    for k in range(octaves):
        scale = 2**k
        total = total + amplitude * value_noise(x, y, (cells[0] * scale, cells[1] * scale), generator)
        norm += amplitude
        amplitude *= gain
    return total / norm


def contrast(n: torch.Tensor, amount: float) -> torch.Tensor:
    """Stretch a [0, 1] field around its 0.5 midpoint by `amount` (> 1 sharper), clamped to [0, 1]."""
    return ((n - 0.5) * amount + 0.5).clamp(0.0, 1.0)


def voronoi(
    x: torch.Tensor,  # [H, W]
    y: torch.Tensor,  # [H, W]
    cells: tuple[int, int],  # (cells along x, cells along y)
    generator: torch.Generator,
    jitter: float = 0.9,  # in [0, 1]: 0 = regular grid of feature points
    aspect: float = 1.0,  # texture height / width, so distances are isotropic on the texture
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cellular (Worley) noise with wrap-around: one feature point per lattice cell.

    Returns (f1, f2, cell): f1, f2 [H, W] float32 distances to the nearest and second-nearest
    feature point in texture-width units; cell [H, W] int64 index (row * cells_x + column) of the
    nearest feature point's cell, for per-cell random attributes. The 3x3 neighbourhood search is
    exact for f1 with jitter <= 1 (f2 is the usual close approximation).
    """
    cx, cy = int(cells[0]), int(cells[1])
    if cx < 1 or cy < 1:
        raise ValueError(f"cells must be >= 1 per axis, got {cells}")
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be in [0, 1], got {jitter}")
    points = 0.5 + jitter * (torch.rand(cy, cx, 2, generator=generator) - 0.5)  # position inside the cell
    fx, fy = x * cx, y * cy
    base_i, base_j = torch.floor(fx).long(), torch.floor(fy).long()
    f1 = torch.full_like(x, math.inf)
    f2 = torch.full_like(x, math.inf)
    cell = torch.zeros_like(base_i)
    for dj in (-1, 0, 1):
        for di in (-1, 0, 1):
            i, j = base_i + di, base_j + dj
            iw, jw = i % cx, j % cy
            p = points[jw, iw]  # [H, W, 2]
            # Unwrapped coordinates of the feature point, so the distance is correct across the seam.
            dx = (i.float() + p[..., 0] - fx) / cx
            dy = (j.float() + p[..., 1] - fy) / cy * aspect
            d = torch.sqrt(dx * dx + dy * dy)
            nearer = d < f1
            f2 = torch.where(nearer, f1, torch.minimum(f2, d))
            cell = torch.where(nearer, jw * cx + iw, cell)
            f1 = torch.where(nearer, d, f1)
    return f1, f2, cell


def coverage_threshold(field: torch.Tensor, coverage: float) -> torch.Tensor:
    """The value of `field` above which lies a fraction `coverage` of its pixels (the (1 - coverage)
    quantile; kthvalue has no size limit, unlike torch.quantile)."""
    flat = field.flatten()
    k = min(flat.numel(), max(1, round((1.0 - coverage) * flat.numel())))
    return flat.kthvalue(k).values


def smoothstep(edge0: float | torch.Tensor, edge1: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """0 below edge0, 1 above edge1, cubic Hermite in between (edge0 < edge1)."""
    t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
