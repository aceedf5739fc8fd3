"""Periodic structural patterns: cells with joints (bricks, tiles, planks), woven threads, studs,
diamond tread and marble veins.

Inputs are texture coordinates x, y [H, W] of `noise.texture_coords` (period 1 each); counts are
integers, so every pattern tiles. Distances are in texture-width units; `aspect` = H / W converts
the y axis (measured in heights) to those units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import noise


@dataclass
class Cells:
    """A partition of the texture into cells separated by joints."""

    cell: torch.Tensor  # [H, W] int64 cell index in [0, count)
    edge: torch.Tensor  # [H, W] float32 distance to the nearest cell border, texture-width units
    u: torch.Tensor  # [H, W] float32 position along the cell's x axis in [0, 1)
    v: torch.Tensor  # [H, W] float32 position along the cell's y axis in [0, 1)
    count: int  # number of distinct cell indices


def running_bond(
    x: torch.Tensor,  # [H, W]
    y: torch.Tensor,  # [H, W]
    rows: int,
    per_row: int,
    row_offset: float,  # shift of every other row in cell widths (0.5 = brick running bond)
    aspect: float,
) -> Cells:
    """Rows of equal rectangular cells, odd rows shifted by `row_offset` cells (bricks, tiles).
    Vertical periodicity with a shift needs an even number of rows."""
    if rows < 1 or per_row < 1:
        raise ValueError(f"rows and per_row must be >= 1, got {rows}, {per_row}")
    if row_offset % 1.0 != 0.0 and rows % 2:
        raise ValueError(f"a shifted bond needs an even number of rows to tile, got rows={rows}")
    fy = y * rows
    row = torch.floor(fy).long() % rows
    fu = x * per_row + (row % 2).float() * row_offset
    col = torch.floor(fu).long() % per_row
    u, v = fu - torch.floor(fu), fy - torch.floor(fy)
    edge = torch.minimum(torch.minimum(u, 1 - u) / per_row, torch.minimum(v, 1 - v) / rows * aspect)
    return Cells(row * per_row + col, edge, u, v, rows * per_row)


def planks(
    x: torch.Tensor,  # [H, W]
    y: torch.Tensor,  # [H, W]
    rows: int,
    max_per_row: int,
    aspect: float,
    generator: torch.Generator,
) -> Cells:
    """Rows of boards: row r holds k_r in [1, max_per_row] boards across the texture width, shifted
    by a random offset, so the board ends are staggered (k_r is an integer: tiles horizontally)."""
    if rows < 1 or max_per_row < 1:
        raise ValueError(f"rows and max_per_row must be >= 1, got {rows}, {max_per_row}")
    per_row = torch.randint(1, max_per_row + 1, (rows,), generator=generator)
    offsets = torch.rand(rows, generator=generator)
    fy = y * rows
    row = torch.floor(fy).long() % rows
    k = per_row[row].float()
    fu = x * k + offsets[row]
    u, v = fu - torch.floor(fu), fy - torch.floor(fy)
    index = torch.floor(fu).long() % per_row[row]
    edge = torch.minimum(torch.minimum(u, 1 - u) / k, torch.minimum(v, 1 - v) / rows * aspect)
    return Cells(row * max_per_row + index, edge, u, v, rows * max_per_row)


def weave(x: torch.Tensor, y: torch.Tensor, threads_x: int, threads_y: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain weave of threads_x vertical (warp) by threads_y horizontal (weft) threads, both even
    (the over/under checkerboard then tiles). Returns (height [H, W] in [0, 1], warp [H, W] bool:
    True where the warp thread is on top)."""
    if threads_x < 2 or threads_y < 2 or threads_x % 2 or threads_y % 2:
        raise ValueError(f"threads must be even and >= 2 per axis to tile, got {threads_x}, {threads_y}")
    fx, fy = x * threads_x, y * threads_y
    tx, ty = fx - torch.floor(fx), fy - torch.floor(fy)
    # Each thread is a rounded profile across its width and rises / dips along its length.
    across_x = torch.sin(math.pi * tx).clamp(min=0.0) ** 0.5
    across_y = torch.sin(math.pi * ty).clamp(min=0.0) ** 0.5
    warp_on_top = ((torch.floor(fx).long() + torch.floor(fy).long()) % 2) == 0
    along_x = 0.75 - 0.25 * torch.cos(2.0 * math.pi * ty)
    along_y = 0.75 - 0.25 * torch.cos(2.0 * math.pi * tx)
    height = torch.where(warp_on_top, across_x * along_x, across_y * along_y)
    return height, warp_on_top


def studs(x: torch.Tensor, y: torch.Tensor, count: int, radius: float, aspect: float) -> torch.Tensor:
    """Round studs on a count x count grid (radius in cell widths, < 0.5). Height [H, W] in [0, 1]."""
    rows = max(1, round(count * aspect))
    fx, fy = x * count, y * rows
    dx = (fx - torch.floor(fx) - 0.5) / count
    dy = (fy - torch.floor(fy) - 0.5) / rows * aspect
    r = torch.sqrt(dx * dx + dy * dy) * count
    return noise.smoothstep(radius, radius * 0.75, r)


def diamond_tread(x: torch.Tensor, y: torch.Tensor, count: int, aspect: float) -> torch.Tensor:
    """Diamond-plate bumps: one elongated bump per grid cell, orientations alternating +-45 degrees
    in a checkerboard. Height [H, W] in [0, 1]."""
    rows = max(1, round(count * aspect))
    fx, fy = x * count, y * rows
    u, v = fx - torch.floor(fx) - 0.5, fy - torch.floor(fy) - 0.5
    sign = ((torch.floor(fx).long() + torch.floor(fy).long()) % 2).float() * 2.0 - 1.0
    along = (u + sign * v) * math.sqrt(0.5)
    across = (u - sign * v) * math.sqrt(0.5)
    d = torch.sqrt((along / 0.38) ** 2 + (across / 0.09) ** 2)  # ellipse of semi-axes 0.38 x 0.09 cells
    return noise.smoothstep(1.0, 0.7, d)


def veins(
    x: torch.Tensor,
    y: torch.Tensor,
    direction: tuple[int, int],  # integer wave numbers (a, b): veins run across a x + b y = const
    warp: torch.Tensor,  # [H, W] periodic field in [0, 1] that bends the veins
    warp_amount: float,  # phase distortion in waves
    sharpness: float,  # exponent: larger = thinner veins
) -> torch.Tensor:  # [H, W] in [0, 1], 1 on a vein
    """Marble-like veins: thin ridges of |sin| of a warped periodic phase."""
    phase = direction[0] * x + direction[1] * y + warp_amount * (warp - 0.5)
    return (1.0 - torch.sin(math.pi * phase).abs()) ** sharpness
