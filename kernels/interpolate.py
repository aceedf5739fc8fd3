"""`interpolate`: per-pixel vertex attributes from the rasterizer output."""

from __future__ import annotations

import torch

from . import _backend, _checks


class _Interpolate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, attr, rast, tri):
        ctx.save_for_backward(attr, rast, tri)
        return _backend.ops().interpolate_fwd(attr, rast, tri)

    @staticmethod
    def backward(ctx, v_out):
        attr, rast, tri = ctx.saved_tensors
        v_attr = _backend.ops().interpolate_bwd(v_out.contiguous(), attr, rast, tri)
        return v_attr, None, None


def interpolate(
    attr: torch.Tensor,  # [V, C] or [B, V, C] float32 vertex attributes
    rast: torch.Tensor,  # [B, H, W, 4] rasterizer output (u, v, z/w, triangle id + 1)
    tri: torch.Tensor,  # [F, 3] int32 vertex indices
) -> torch.Tensor:  # [B, H, W, C]
    """Interpolate vertex attributes over the pixels of `rast`.

    out = u * attr[tri[id-1, 0]] + v * attr[tri[id-1, 1]] + (1 - u - v) * attr[tri[id-1, 2]];
    empty pixels (id 0) get 0. `attr` of shape [V, C] is shared by every image of the batch.
    Differentiable with respect to `attr` (the rasterizer output carries no gradient).
    """
    _checks.check_float_tensor(attr, "attr", "[V, C] or [B, V, C]", dims=(2, 3))
    _checks.check_float_tensor(rast, "rast", "[B, H, W, 4]", last_dim=4, dims=(4,))
    _checks.check_same_device(attr=attr, rast=rast, tri=tri)
    _checks.check_triangles(tri, attr.shape[-2])
    squeeze = attr.dim() == 2
    attr3 = attr.unsqueeze(0) if squeeze else attr
    if attr3.shape[0] not in (1, rast.shape[0]):
        raise ValueError(f"attr batch {attr3.shape[0]} must be 1 or the batch of rast ({rast.shape[0]})")
    return _Interpolate.apply(
        attr3.float().contiguous(), rast.float().contiguous(), tri.to(torch.int32).contiguous()
    )
