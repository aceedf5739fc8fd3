"""Differentiable rendering of the room's UV textures into the generator's three branch images.

Per view (all views of a batch in one `rasterize` call with per-view matrices):
  rast = rasterize(world positions, triangles, R, mvp)          pixel -> triangle, barycentrics
  attrs = interpolate(uv | normal | tangent | position)          per-pixel surface attributes
  uv_da = screen-space uv derivatives (finite differences between neighbouring pixels of the same
          object; of the forward and backward difference the smaller, so a UV seam next to a pixel
          does not blow up its footprint)
  per object k: texture(maps_k, uv, 'linear-mipmap-linear', 'repeat', uv_da) on that object's
          pixels only, so every texel under a pixel's footprint receives that pixel's gradient
          (through the mip pyramid) and no pixel is sampled twice.
The maps are the concatenated channels [albedo (3, linear) | roughness | metallic | normal detail
x, y (tangent space, OpenGL)]; the detail normal is (x, y, sqrt(1 - x^2 - y^2)) in the vertex frame
(geometry.py) and its camera-space direction feeds the normal branch.

Outputs follow the generator's image conventions: rows top to bottom (the rasterizer's rows are
flipped), albedo linear [0, 1], material (roughness, metallic, 0), normals as unit vectors in
OpenGL camera space (+x right, +y up, +z toward the viewer). A surface seen from behind is shaded
with its normal flipped toward the camera (the model never saw back faces). Empty pixels hold
albedo 0, material 0 and the normal (0, 0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from intrinsix.kernels import interpolate, rasterize, texture

from .geometry import RoomGeometry

CHANNELS = 7  # albedo 3, roughness 1, metallic 1, normal detail 2
MAX_DETAIL = 0.95  # |detail xy| bound: the detail normal stays within ~72 degrees of the surface normal


@dataclass
class RenderedViews:
    """B rendered views, rows top to bottom.

    albedo [B, H, W, 3] linear; material [B, H, W, 3] (roughness, metallic, 0); normal [B, H, W, 3]
    unit, camera space; mask [B, H, W] bool (a surface is drawn); object [B, H, W] int64 object
    index (-1 = empty).
    """

    albedo: torch.Tensor
    material: torch.Tensor
    normal: torch.Tensor
    mask: torch.Tensor
    object: torch.Tensor


def _uv_derivatives(uv: torch.Tensor, obj: torch.Tensor) -> torch.Tensor:  # [B, H, W, 2], [B, H, W] -> [B, H, W, 4]
    """(du/dx, du/dy, dv/dx, dv/dy) per pixel from neighbours showing the same object."""

    def along(dim: int) -> torch.Tensor:  # [B, H, W, 2] derivative along image axis `dim` (1 rows, 2 columns)
        n = uv.shape[dim]
        if n < 2:
            return torch.zeros_like(uv)
        forward = uv.narrow(dim, 1, n - 1) - uv.narrow(dim, 0, n - 1)  # between pixel i and i + 1
        same = (obj.narrow(dim, 1, n - 1) == obj.narrow(dim, 0, n - 1)) & (obj.narrow(dim, 0, n - 1) >= 0)
        forward = torch.where(same.unsqueeze(-1), forward, torch.full_like(forward, float("inf")))
        pad_shape = list(forward.shape)
        pad_shape[dim] = 1
        pad = torch.full(pad_shape, float("inf"), dtype=uv.dtype, device=uv.device)
        ahead = torch.cat([forward, pad], dim)  # pixel i -> i + 1
        behind = torch.cat([pad, forward], dim)  # pixel i - 1 -> i
        pick = torch.where(ahead.norm(dim=-1, keepdim=True) <= behind.norm(dim=-1, keepdim=True), ahead, behind)
        return torch.where(torch.isfinite(pick), pick, torch.zeros_like(pick))

    d_dx, d_dy = along(2), along(1)
    return torch.stack([d_dx[..., 0], d_dy[..., 0], d_dx[..., 1], d_dy[..., 1]], dim=-1)


def render_views(
    geometry: RoomGeometry,
    maps: list[torch.Tensor],  # per object [s_k, s_k, 7] (albedo, roughness, metallic, detail x, y)
    clip: torch.Tensor,  # [B, 4, 4] world -> clip
    view: torch.Tensor,  # [B, 4, 4] world -> camera
    resolution: int,
) -> RenderedViews:
    """Render B views of the textured room (see the module docstring). Differentiable with respect
    to `maps`."""
    device = geometry.device
    batch = clip.shape[0]
    rast = rasterize(geometry.positions, geometry.triangles, resolution, mvp=clip)
    rast = rast.flip(1)  # rows top to bottom, as the generator's images
    ids = rast[..., 3].long()
    drawn = ids > 0
    obj = torch.where(drawn, geometry.face_object[(ids - 1).clamp_min(0)], torch.full_like(ids, -1))
    attrs = interpolate(geometry.vertex_attrs, rast, geometry.triangles)  # [B, H, W, 12]
    uv = attrs[..., 0:2]
    uv_da = _uv_derivatives(uv, obj)

    pixels = []
    values = []
    for k in range(geometry.num_objects):
        index = torch.nonzero((obj == k).reshape(-1)).reshape(-1)
        if index.numel() == 0:
            continue
        uv_k = uv.reshape(-1, 2)[index].reshape(1, -1, 1, 2)
        da_k = uv_da.reshape(-1, 4)[index].reshape(1, -1, 1, 4)
        sampled = texture(maps[k], uv_k, filter="linear-mipmap-linear", wrap="repeat", uv_da=da_k)
        pixels.append(index)
        values.append(sampled.reshape(-1, CHANNELS))
    flat = torch.zeros(batch * resolution * resolution, CHANNELS, device=device)
    if pixels:
        flat = flat.index_copy(0, torch.cat(pixels), torch.cat(values))
    surface = flat.reshape(batch, resolution, resolution, CHANNELS)

    # Shading frame in world space, then to camera space.
    normal = torch.nn.functional.normalize(attrs[..., 2:5], dim=-1)
    tangent = attrs[..., 5:8]
    tangent = torch.nn.functional.normalize(tangent - normal * (normal * tangent).sum(-1, keepdim=True), dim=-1)
    handedness = torch.where(attrs[..., 8:9] < 0, -1.0, 1.0)
    bitangent = handedness * torch.linalg.cross(normal, tangent)
    eyes = torch.linalg.inv(view)[:, :3, 3]  # [B, 3]
    to_eye = eyes[:, None, None, :] - attrs[..., 9:12]
    facing = torch.where((normal * to_eye).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    detail = surface[..., 5:7]
    detail_z = (1.0 - (detail * detail).sum(-1, keepdim=True)).clamp_min(1e-4).sqrt()
    world_normal = detail[..., 0:1] * tangent + detail[..., 1:2] * bitangent + detail_z * normal * facing
    rotation = view[:, :3, :3]  # [B, 3, 3]
    camera_normal = torch.einsum("bij,bhwj->bhwi", rotation, world_normal)
    camera_normal = torch.nn.functional.normalize(camera_normal, dim=-1)
    background = torch.tensor([0.0, 0.0, 1.0], device=device)
    mask = drawn.unsqueeze(-1)
    camera_normal = torch.where(mask, camera_normal, background)
    material = torch.cat([surface[..., 3:5], torch.zeros_like(surface[..., 3:4])], dim=-1)
    return RenderedViews(albedo=surface[..., 0:3], material=material, normal=camera_normal, mask=drawn, object=obj)
