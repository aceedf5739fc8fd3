"""Twin of `intrinsix.kernels.texture` (same conventions; see docs/kernels/texture.md).

Written independently of the kernel's tap lists: the mip pyramid uses dense area-overlap matrices,
bilinear filtering gathers four texels per level, and trilinear filtering blends every level with a
per-pixel weight that is nonzero for the two levels around the level of detail.
"""

from __future__ import annotations

import torch


def _area_matrix(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:  # [max(1, n // 2), n]
    """R[i, j] = length of input texel j inside output texel i's span, over the span's length.

    Output texel i of m = n // 2 spans [i n / m, (i + 1) n / m] in input texels (2 texels for even
    n, 2 + 1/m for odd n); n = 1 stays 1.
    """
    if n == 1:
        return torch.ones(1, 1, dtype=dtype, device=device)
    m = n // 2
    start = torch.arange(m, dtype=torch.float64).unsqueeze(1) * n / m
    end = start + n / m
    j = torch.arange(n, dtype=torch.float64).unsqueeze(0)
    overlap = (torch.minimum(end, j + 1) - torch.maximum(start, j)).clamp(min=0)
    return (overlap * m / n).to(dtype=dtype, device=device)


def mip_pyramid(tex: torch.Tensor, max_mip_level: int | None = None) -> list[torch.Tensor]:
    """[A, H, W, C] -> levels [A, h_k, w_k, C], halving (floor) both sides down to 1 x 1."""
    height, width = tex.shape[1], tex.shape[2]
    num_levels = 1 + int(torch.log2(torch.tensor(float(max(height, width)))).floor())
    if max_mip_level is not None:
        num_levels = min(num_levels, max_mip_level + 1)
    levels = [tex]
    for _ in range(num_levels - 1):
        prev = levels[-1]
        rows = _area_matrix(prev.shape[1], prev.dtype, prev.device)
        cols = _area_matrix(prev.shape[2], prev.dtype, prev.device)
        levels.append(torch.einsum("ih,ahwc,jw->aijc", rows, prev, cols))
    return levels


def _texel_coordinate(u: torch.Tensor, n: int, wrap: str) -> torch.Tensor:
    if wrap == "repeat":
        return (u - torch.floor(u)) * n - 0.5
    return (u * n - 0.5).clamp(-1.0, float(n))  # beyond [-1, n] both taps are the same edge texel


def _wrap_index(i: torch.Tensor, n: int, wrap: str) -> torch.Tensor:
    return torch.remainder(i, n) if wrap == "repeat" else i.clamp(0, n - 1)


def _fetch(level: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """level [A, h, w, C], rows/cols [B, Hp, Wp] int64 -> texels [B, Hp, Wp, C]."""
    batch = rows.shape[0]
    flat = level.reshape(level.shape[0], -1, level.shape[3]).expand(batch, -1, -1)
    b = torch.arange(batch, device=rows.device).view(batch, 1, 1)
    return flat[b, rows * level.shape[2] + cols]


def _nearest(level: torch.Tensor, u: torch.Tensor, v: torch.Tensor, wrap: str) -> torch.Tensor:
    h, w = level.shape[1], level.shape[2]
    cols = _wrap_index(torch.floor(_texel_coordinate(u, w, wrap) + 0.5).long(), w, wrap)
    rows = _wrap_index(torch.floor(_texel_coordinate(v, h, wrap) + 0.5).long(), h, wrap)
    return _fetch(level, rows, cols)


def _bilinear(level: torch.Tensor, u: torch.Tensor, v: torch.Tensor, wrap: str) -> torch.Tensor:
    h, w = level.shape[1], level.shape[2]
    x, y = _texel_coordinate(u, w, wrap), _texel_coordinate(v, h, wrap)
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = (x - x0).unsqueeze(-1), (y - y0).unsqueeze(-1)
    c0, r0 = x0.long(), y0.long()
    c = (_wrap_index(c0, w, wrap), _wrap_index(c0 + 1, w, wrap))
    r = (_wrap_index(r0, h, wrap), _wrap_index(r0 + 1, h, wrap))
    top = (1 - fx) * _fetch(level, r[0], c[0]) + fx * _fetch(level, r[0], c[1])
    bottom = (1 - fx) * _fetch(level, r[1], c[0]) + fx * _fetch(level, r[1], c[1])
    return (1 - fy) * top + fy * bottom


def texture_lod(
    uv_da: torch.Tensor,  # [B, Hp, Wp, 4]
    mip_level_bias: torch.Tensor | None,  # [B, Hp, Wp]
    height: int,
    width: int,
    num_levels: int,
) -> torch.Tensor:  # [B, Hp, Wp] in [0, num_levels - 1]
    """OpenGL level of detail: log2 of the longer screen-axis footprint in base texels, + bias."""
    du_dx, du_dy, dv_dx, dv_dy = (uv_da[..., k] for k in range(4))
    rho_x2 = (du_dx * width) ** 2 + (dv_dx * height) ** 2
    rho_y2 = (du_dy * width) ** 2 + (dv_dy * height) ** 2
    lod = 0.5 * torch.log2(torch.maximum(rho_x2, rho_y2))
    if mip_level_bias is not None:
        lod = lod + mip_level_bias
    lod = torch.where(lod > 0, lod, torch.zeros_like(lod))  # also maps log2(0) = -inf to 0
    return lod.clamp(max=float(num_levels - 1))


def texture(
    tex: torch.Tensor,  # [H, W, C] or [B, H, W, C]
    uv: torch.Tensor,  # [B, Hp, Wp, 2]
    filter: str = "linear",
    wrap: str = "repeat",
    uv_da: torch.Tensor | None = None,  # [B, Hp, Wp, 4]
    mip_level_bias: torch.Tensor | None = None,  # [B, Hp, Wp]
    max_mip_level: int | None = None,
) -> torch.Tensor:  # [B, Hp, Wp, C]
    tex4 = tex.unsqueeze(0) if tex.dim() == 3 else tex
    u, v = uv[..., 0], uv[..., 1]
    if filter == "nearest":
        return _nearest(tex4, u, v, wrap)
    if filter == "linear":
        return _bilinear(tex4, u, v, wrap)
    if filter != "linear-mipmap-linear":
        raise ValueError(f"unknown filter {filter!r}")
    levels = mip_pyramid(tex4, max_mip_level)
    bias = None if mip_level_bias is None else mip_level_bias.detach()
    lod = texture_lod(uv_da.detach(), bias, tex4.shape[1], tex4.shape[2], len(levels))
    level0 = torch.floor(lod)
    level1 = (level0 + 1).clamp(max=len(levels) - 1)
    frac = lod - level0
    out = 0
    for k, level in enumerate(levels):
        weight = torch.where(level0 == k, 1 - frac, 0) + torch.where(level1 == k, frac, 0)
        out = out + weight.unsqueeze(-1) * _bilinear(level, u, v, wrap)
    return out
