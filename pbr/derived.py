"""Maps derived from the generated ones: height from the normal map, ambient occlusion from height.

Units: positions are in texels (one texel = one pixel width), heights too, so a slope of 1 means 45
degrees. Image rows go DOWN while the OpenGL normal's +Y points UP the image; with
n = normalize(-dh/dx, -dh/dy_up, 1) the gradient in array axes is
    dh/dcol = -nx / nz,    dh/drow = +ny / nz.
"""

from __future__ import annotations

import math

import torch

# Normals closer to the surface plane than this (n.z below it) are clamped so slopes stay finite
# (|slope| <= 1/0.05 = 20, about 87 degrees).
MIN_NORMAL_Z = 0.05
# A height field whose integrated range is below this many texels is flat.
FLAT_SPAN = 1e-6
# Texel steps of the 8 horizon directions (dcol, drow): the axes and the diagonals.
_DIRECTIONS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))


def integrate_gradients(
    dh_dcol: torch.Tensor,  # [H, W] slope along columns (texels per texel)
    dh_drow: torch.Tensor,  # [H, W] slope along rows, rows going down
    tiling: bool,
) -> torch.Tensor:  # [H, W] float64 height in texels, zero mean
    """Least-squares height from a gradient field (Frankot-Chellappa, Fourier domain, float64).

    tiling=True: the field is periodic, solved directly with a 2-D FFT.
    tiling=False: the gradients are mirrored into a 2H x 2W even extension (mirroring a height
    field negates the slope across the mirror axis), which is periodic without a jump at the image
    border; the FFT solution of the extension is cropped back (a cosine-transform solve, i.e. a
    Poisson equation with Neumann borders).
    Each frequency w of the height gets h(w) = -i (wx p(w) + wy q(w)) / (wx^2 + wy^2); the mean is 0.
    A mean slope is kept by the mirrored solve (it is part of the relief the normals describe) but
    cannot exist in a periodic field: tiling=True drops it with the DC term.
    """
    p = dh_dcol.to(torch.float64)
    q = dh_drow.to(torch.float64)
    rows, cols = p.shape
    if not tiling:
        p = torch.cat([torch.cat([p, -p.flip(1)], 1), torch.cat([p.flip(0), -p.flip(0).flip(1)], 1)], 0)
        q = torch.cat([torch.cat([q, q.flip(1)], 1), torch.cat([-q.flip(0), -q.flip(0).flip(1)], 1)], 0)
    ext_rows, ext_cols = p.shape
    w_col = 2.0 * math.pi * torch.fft.fftfreq(ext_cols, dtype=torch.float64, device=p.device)[None, :]
    w_row = 2.0 * math.pi * torch.fft.fftfreq(ext_rows, dtype=torch.float64, device=p.device)[:, None]
    denominator = w_col**2 + w_row**2
    denominator[0, 0] = 1.0  # the mean (DC) is set to 0 below
    spectrum = -1j * (w_col * torch.fft.fft2(p) + w_row * torch.fft.fft2(q)) / denominator
    spectrum[0, 0] = 0.0
    height = torch.fft.ifft2(spectrum).real[:rows, :cols]
    return height - height.mean()


def height_from_normals(
    normal: torch.Tensor,  # [H, W, 3] unit vectors, OpenGL tangent space
    tiling: bool = False,
) -> tuple[torch.Tensor, float]:  # ([H, W, 1] float32 in [0, 1], scale in texels)
    """Height map integrated from a normal map, normalised to [0, 1], plus its scale.

    Returns (height01, scale): the height in texels is height01 * scale + constant, so `scale`
    is the peak-to-valley range in texel widths (divide by the width for UV units). A flat normal
    map gives a constant 0.5 and scale 0. tiling: see integrate_gradients.
    """
    if normal.dim() != 3 or normal.shape[-1] != 3:
        raise ValueError(f"normal must have shape [H, W, 3], got {tuple(normal.shape)}")
    nz = normal[..., 2].to(torch.float64).clamp_min(MIN_NORMAL_Z)
    dh_dcol = -normal[..., 0].to(torch.float64) / nz
    dh_drow = normal[..., 1].to(torch.float64) / nz
    height = integrate_gradients(dh_dcol, dh_drow, tiling)
    low, high = float(height.min()), float(height.max())
    span = high - low
    if span < FLAT_SPAN:
        return torch.full_like(height, 0.5, dtype=torch.float32)[..., None], 0.0
    height01 = ((height - low) / span).to(torch.float32).clamp(0.0, 1.0)
    return height01[..., None], span


def _shifted(height: torch.Tensor, dcol: int, drow: int, tiling: bool) -> torch.Tensor:
    """height[row + drow, col + dcol], wrapped (tiling) or clamped to the edge (no tiling)."""
    rows, cols = height.shape
    r = torch.arange(rows, device=height.device) + drow
    c = torch.arange(cols, device=height.device) + dcol
    if tiling:
        r, c = r % rows, c % cols
    else:
        r, c = r.clamp(0, rows - 1), c.clamp(0, cols - 1)
    return height[r][:, c]


def default_ao_radius(resolution: tuple[int, int]) -> int:
    """A sixteenth of the shorter side, at least 1 texel (32 texels at 512x512)."""
    return max(1, min(resolution) // 16)


def ambient_occlusion_from_height(
    height01: torch.Tensor,  # [H, W, 1] in [0, 1]
    height_scale: float,  # texels of displacement between height 0 and 1
    tiling: bool = False,
    radius: int | None = None,  # search radius in texels; None: default_ao_radius
) -> torch.Tensor:  # [H, W, 1] float32 in [0, 1], 1 = unoccluded
    """Horizon-based ambient occlusion of a height field (a cheap hemisphere estimate).

    In each of 8 directions (axes and diagonals) the horizon is the steepest elevation seen from
    the texel over geometrically spaced steps up to `radius` texels; its angle is measured above
    the local tangent plane (slope from central differences), so a tilted plane is unoccluded. A
    direction whose horizon rises beta above the tangent plane contributes cos(beta)^2, its
    cosine-weighted visible fraction; AO is the mean over the 8 directions. A flat map gives
    exactly 1. Samples outside the map wrap (tiling) or repeat the edge texel (no tiling).
    """
    if height01.dim() != 3 or height01.shape[-1] != 1:
        raise ValueError(f"height01 must have shape [H, W, 1], got {tuple(height01.shape)}")
    if not (math.isfinite(height_scale) and height_scale >= 0):
        raise ValueError(f"height_scale must be a finite number >= 0 (texels), got {height_scale!r}")
    rows, cols = height01.shape[:2]
    radius = default_ao_radius((rows, cols)) if radius is None else radius
    if not isinstance(radius, int) or not 1 <= radius <= max(rows, cols):
        raise ValueError(f"radius must be an int in [1, {max(rows, cols)}] texels, got {radius!r}")
    height = height01[..., 0].to(torch.float32) * float(height_scale)
    steps = sorted({round(radius ** (i / 7)) for i in range(8)}) if radius > 1 else [1]

    visible = torch.zeros_like(height)
    for dcol, drow in _DIRECTIONS:
        length = math.hypot(dcol, drow)
        tangent = (_shifted(height, dcol, drow, tiling) - _shifted(height, -dcol, -drow, tiling)) / (2 * length)
        horizon = tangent
        for k in steps:
            rise = (_shifted(height, k * dcol, k * drow, tiling) - height) / (k * length)
            horizon = torch.maximum(horizon, rise)
        beta = (torch.atan(horizon) - torch.atan(tangent)).clamp(0.0, math.pi / 2)
        visible += torch.cos(beta) ** 2
    return (visible / len(_DIRECTIONS)).clamp(0.0, 1.0)[..., None]
