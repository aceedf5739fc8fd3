"""Twin of `intrinsix.kernels.interpolate`."""

from __future__ import annotations

import torch


def interpolate(
    attr: torch.Tensor,  # [V, C] or [B, V, C]
    rast: torch.Tensor,  # [B, H, W, 4]
    tri: torch.Tensor,  # [F, 3]
) -> torch.Tensor:  # [B, H, W, C]
    batch = rast.shape[0]
    attr3 = attr.unsqueeze(0) if attr.dim() == 2 else attr
    attr3 = attr3.expand(batch, -1, -1)
    tri_id = rast[..., 3].long() - 1  # [B, H, W], -1 = empty
    covered = tri_id >= 0
    corners = tri.long()[tri_id.clamp(min=0)]  # [B, H, W, 3] vertex indices
    b_index = torch.arange(batch, device=rast.device).view(batch, 1, 1, 1)
    values = attr3[b_index, corners]  # [B, H, W, 3, C]
    u, v = rast[..., 0:1], rast[..., 1:2]
    weights = torch.cat([u, v, 1.0 - u - v], dim=-1).unsqueeze(-1)  # [B, H, W, 3, 1]
    out = (weights * values).sum(dim=-2)
    return out * covered.unsqueeze(-1).to(out.dtype)
