"""Which texels a camera sees: surface samples at texel centres and a depth-buffer test.

A texel is represented by the surface point under its centre (`kernels.rasterize_uv` of the
object's UV layout, then `interpolate` of world positions). It is seen by a camera when
  - the point projects inside the image and between the near and far planes,
  - the pixel it falls on shows the same object (`rasterize` triangle id -> object), at the same
    depth within DEPTH_TOLERANCE (relative) + 1e-4 x room size (absolute),
  - the surface is not seen at a grazing angle: |cos(normal, view direction)| >= MIN_COS.
Such a pixel samples the texel's neighbourhood, so the texel receives gradient when that view is
optimised (the mip-mapped texture lookup spreads each pixel's gradient over its footprint).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from intrinsix.kernels import interpolate, rasterize, rasterize_uv

from .geometry import RoomGeometry

DEPTH_TOLERANCE = 0.02
MIN_COS = 0.12  # about 83 degrees from the normal


@dataclass
class SurfaceSamples:
    """Texel-centre surface points of every object.

    position [S, 3], normal [S, 3] (geometric, world), object [S] int64, texel [S] int64 (flat index
    row * r + column into the object's r x r sample grid), weight [S] float32 (texels of the
    object's texture each sample stands for: (texture_size / r)^2).
    resolution: r per object.  mask: per object [r, r] bool, texels inside the UV layout.
    """

    position: torch.Tensor
    normal: torch.Tensor
    object: torch.Tensor
    texel: torch.Tensor
    weight: torch.Tensor
    resolution: list[int]
    mask: list[torch.Tensor]

    @property
    def count(self) -> int:
        return int(self.position.shape[0])


def atlas_raster(geometry: RoomGeometry, k: int, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """rasterize_uv of object k's UV triangles at `resolution`^2 (row 0 at v = 0).

    Each triangle is shifted by the integer part of its UV centroid, so that layouts that repeat
    outside [0, 1] land in the unit square. Returns rast [1, r, r, 4] over the object's
    triangles as unwelded corners (triangle t has corners 3t, 3t + 1, 3t + 2) and the corner
    index tensor [F_k, 3] int32 to interpolate with.
    """
    vs, fs = geometry.object_slice(k)
    tri = geometry.triangles[fs].long()
    corners_uv = geometry.vertex_attrs[:, 0:2][tri]  # [F, 3, 2]
    corners_uv = corners_uv - torch.floor(corners_uv.mean(dim=1, keepdim=True))
    live = geometry.live_faces[fs]
    corners_uv = torch.where(live[:, None, None], corners_uv, torch.full_like(corners_uv, -4.0))  # off-texture
    corner_tri = torch.arange(tri.numel(), device=tri.device, dtype=torch.int32).reshape(-1, 3)
    rast = rasterize_uv(corners_uv.reshape(-1, 2).contiguous(), corner_tri, (resolution, resolution))
    return rast, corner_tri


def surface_samples(geometry: RoomGeometry, resolutions: list[int]) -> SurfaceSamples:
    """Samples at the texel centres of an r_k x r_k grid per object (r_k from `resolutions`)."""
    parts = {name: [] for name in ("position", "normal", "object", "texel", "weight")}
    masks = []
    for k, r in enumerate(resolutions):
        vs, fs = geometry.object_slice(k)
        rast, corner_tri = atlas_raster(geometry, k, r)
        mask = rast[0, ..., 3] > 0
        masks.append(mask)
        tri = geometry.triangles[fs].long()
        corner_pos = geometry.positions[tri].reshape(-1, 3)
        position = interpolate(corner_pos, rast, corner_tri)[0][mask]  # [S_k, 3]
        face = rast[0, ..., 3][mask].long() - 1 + int(geometry.face_offset[k])
        flat = torch.nonzero(mask.reshape(-1)).reshape(-1)
        parts["position"].append(position)
        parts["normal"].append(geometry.face_normals[face])
        parts["object"].append(torch.full_like(flat, k))
        parts["texel"].append(flat)
        parts["weight"].append(torch.full((flat.numel(),), (geometry.texture_sizes[k] / r) ** 2,
                                          device=flat.device))
    return SurfaceSamples(**{name: torch.cat(values) for name, values in parts.items()},
                          resolution=list(resolutions), mask=masks)


def linear_depth(z_ndc: torch.Tensor, near: float, far: float) -> torch.Tensor:
    """Distance along the view axis from OpenGL NDC depth (kernels.meshes.perspective)."""
    return 2.0 * far * near / ((far + near) - z_ndc * (far - near))


def visible_samples(
    geometry: RoomGeometry,
    samples: SurfaceSamples,
    clip: torch.Tensor,  # [B, 4, 4] world -> clip
    eyes: torch.Tensor,  # [B, 3] camera positions
    resolution: int,
    near: float,
    far: float,
) -> tuple[torch.Tensor, torch.Tensor]:  # [B, S] bool, [B, K] float pixel share per object
    """Which samples each of B cameras sees (module docstring), and the share of each view's
    pixels that every object covers."""
    rast = rasterize(geometry.positions, geometry.triangles, resolution, mvp=clip)  # [B, R, R, 4]
    batch = clip.shape[0]
    homogeneous = torch.cat([samples.position, torch.ones_like(samples.position[:, :1])], dim=1)
    sample_clip = torch.einsum("bij,sj->bsi", clip, homogeneous)  # [B, S, 4]
    w = sample_clip[..., 3]
    ndc = sample_clip[..., :3] / w.clamp_min(1e-12).unsqueeze(-1)
    inside = (w > near) & (ndc[..., 0].abs() < 1) & (ndc[..., 1].abs() < 1) & (ndc[..., 2] < 1)
    column = ((ndc[..., 0] + 1) * 0.5 * resolution).floor().clamp(0, resolution - 1).long()
    row = ((ndc[..., 1] + 1) * 0.5 * resolution).floor().clamp(0, resolution - 1).long()  # row 0 = bottom
    b_index = torch.arange(batch, device=clip.device)[:, None].expand_as(row)
    pixel = rast[b_index, row, column]  # [B, S, 4]
    triangle = pixel[..., 3].long()
    drawn = triangle > 0
    pixel_object = geometry.face_object[(triangle - 1).clamp_min(0)]
    same_object = drawn & (pixel_object == samples.object[None])
    depth_buffer = linear_depth(pixel[..., 2], near, far)
    size = float((geometry.bounds[1] - geometry.bounds[0]).max())
    close = (w - depth_buffer).abs() <= DEPTH_TOLERANCE * depth_buffer + 1e-4 * size
    to_eye = eyes[:, None, :] - samples.position[None]
    cosine = (samples.normal[None] * to_eye).sum(-1).abs() / to_eye.norm(dim=-1).clamp_min(1e-12)
    seen = inside & same_object & close & (cosine >= MIN_COS)

    ids = rast[..., 3].long().reshape(batch, -1)
    objects = torch.where(ids > 0, geometry.face_object[(ids - 1).clamp_min(0)], -1)
    shares = torch.stack([(objects == k).float().mean(dim=1) for k in range(geometry.num_objects)], dim=1)
    return seen, shares
