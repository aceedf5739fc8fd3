"""Seam dilation in UV space: texels outside the UV layout take the values of the layout's edge.

Bilinear and mip-mapped lookups near a chart border read texels just outside it; left as they
are, those texels would show as seams (and bleed into the chart at coarser mip levels). Each pass
gives every not-yet-filled texel with at least one filled 8-neighbour the mean of its filled
neighbours; the texture wraps around its edges (the 'repeat' addressing the room uses). After
`passes` rounds whatever is still empty takes the mean of the layout.
"""

from __future__ import annotations

import torch


def dilate(
    values: torch.Tensor,  # [H, W, C] float
    mask: torch.Tensor,  # [H, W] bool, True inside the UV layout (kept as is)
    passes: int = 16,
) -> torch.Tensor:  # [H, W, C]
    """`values` with texels outside `mask` filled outward from it (module docstring)."""
    if values.dim() != 3 or tuple(mask.shape) != tuple(values.shape[:2]):
        raise ValueError(f"values must be [H, W, C] and mask [H, W] of the same size, got {tuple(values.shape)} "
                         f"and {tuple(mask.shape)}")
    if passes < 0:
        raise ValueError(f"passes must be >= 0, got {passes}")
    if not bool(mask.any()):
        return values.clone()
    filled = mask.to(values.dtype)[..., None]  # [H, W, 1]
    image = values * filled

    def box_sum(t: torch.Tensor) -> torch.Tensor:  # 3 x 3 neighbourhood sums, wrapping around the edges
        rows = t + t.roll(1, 0) + t.roll(-1, 0)
        return rows + rows.roll(1, 1) + rows.roll(-1, 1)

    for _ in range(passes):
        if bool(filled.all()):
            break
        count = box_sum(filled)
        grow = (filled == 0) & (count > 0)
        image = torch.where(grow, box_sum(image) / count.clamp_min(1.0), image)
        filled = torch.where(grow, torch.ones_like(filled), filled)
    empty = filled[..., 0] == 0
    if bool(empty.any()):
        image = torch.where(empty[..., None], values[mask].mean(dim=0), image)
    return image.contiguous()
