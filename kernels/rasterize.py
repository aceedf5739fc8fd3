"""`rasterize` and `rasterize_uv`: triangles to per-pixel (u, v, z/w, triangle id + 1).

Output layout and conventions are nvdiffrast's (see kernels/csrc/rasterize.h and
docs/kernels/rasterize.md): row 0 of the image is the bottom of the view (NDC y = -1), pixel
centres at NDC ((2x + 1)/W - 1, (2y + 1)/H - 1), barycentrics (u, v) weight vertices 0 and 1 of
the triangle, z/w is NDC depth, and the last channel is the triangle index + 1 (0 = empty).
The rasterizer is not differentiable (as nvdiffrast's without antialiasing): gradients flow through
`interpolate` and `texture` into attributes and textures.
"""

from __future__ import annotations

import torch

from . import _backend, _checks


def rasterize(
    pos: torch.Tensor,  # [B, V, 4] clip space, or [V, 4] / [V, 3] with `mvp`
    tri: torch.Tensor,  # [F, 3] int32 vertex indices
    resolution: int | tuple[int, int],  # (height, width) or one int for square
    mvp: torch.Tensor | None = None,  # [B, 4, 4] per-view matrices: clip = mvp @ [x, y, z, 1]
) -> torch.Tensor:  # [B, H, W, 4] float32
    """Rasterize triangles; nearest depth wins, top-left fill rule, both windings.

    With `mvp`, `pos` holds one set of object-space vertices ([V, 3] or homogeneous [V, 4]) that is
    transformed by each of the B view matrices (a batch of views of one mesh). Without `mvp`,
    `pos` is clip space: [B, V, 4], or [V, 4] for a single image.
    Triangles crossing the near plane (z < -w) are clipped; pixels beyond the far plane
    (z/w > 1) are empty. At most 2^24 - 1 triangles (ids are stored as float32).
    """
    height, width = _checks.check_resolution(resolution)
    _checks.check_float_tensor(pos, "pos", "[B, V, 4], or [V, 3]/[V, 4] with mvp", dims=(2, 3))
    if mvp is not None:
        _checks.check_float_tensor(mvp, "mvp", "[B, 4, 4]", dims=(3,))
        if tuple(mvp.shape[1:]) != (4, 4):
            raise ValueError(f"mvp must have shape [B, 4, 4], got {tuple(mvp.shape)}")
        if pos.dim() != 2 or pos.shape[1] not in (3, 4):
            raise ValueError(f"with mvp, pos must be object-space vertices [V, 3] or [V, 4], got {tuple(pos.shape)}")
        _checks.check_same_device(pos=pos, tri=tri, mvp=mvp)
        homogeneous = pos if pos.shape[1] == 4 else torch.cat([pos, torch.ones_like(pos[:, :1])], dim=1)
        clip = torch.matmul(homogeneous.float().unsqueeze(0), mvp.float().transpose(1, 2))  # [B, V, 4]
    else:
        if pos.shape[-1] != 4:
            raise ValueError(f"pos must be clip-space positions [B, V, 4] (or [V, 4]), got {tuple(pos.shape)}")
        _checks.check_same_device(pos=pos, tri=tri)
        clip = pos.unsqueeze(0) if pos.dim() == 2 else pos
    _checks.check_finite(clip, "pos" if mvp is None else "pos transformed by mvp")
    _checks.check_triangles(tri, clip.shape[1])
    clip = clip.detach().float().contiguous()
    return _backend.ops().rasterize_fwd(clip, tri.to(torch.int32).contiguous(), clip.shape[0], height, width)


def rasterize_uv(
    uv: torch.Tensor,  # [V, 2] or [B, V, 2] texture coordinates in [0, 1]
    tri: torch.Tensor,  # [F, 3] int32 (the UV triangles: same faces, UV vertex indices)
    resolution: int | tuple[int, int],  # texture (height, width)
) -> torch.Tensor:  # [B, H, W, 4]
    """Texel-space rasterization for baking: texel (row i, column j) covers uv around
    ((j + 0.5) / W, (i + 0.5) / H), row 0 at v = 0, the same addressing as `texture`.

    The result is a rast tensor: `interpolate(attr, rast, tri)` gives per-texel attributes (for
    example world positions and normals to bake), and rast[..., 3] > 0 marks texels inside the atlas.
    """
    _checks.check_float_tensor(uv, "uv", "[V, 2] or [B, V, 2]", last_dim=2, dims=(2, 3))
    _checks.check_same_device(uv=uv, tri=tri)
    _checks.check_finite(uv, "uv")
    uv3 = uv.unsqueeze(0) if uv.dim() == 2 else uv
    ndc = uv3.detach().float() * 2.0 - 1.0
    pos = torch.cat([ndc, torch.zeros_like(ndc[..., :1]), torch.ones_like(ndc[..., :1])], dim=-1)
    return rasterize(pos, tri, resolution)
