"""Render a `Scene` from a `Camera` into the intrinsic maps of one training view, with the project's
kernels (`rasterize`, `interpolate`, `texture`, `shade`).

Per pixel: the rasterizer finds the surface; UVs, normals, tangents and positions are interpolated;
each material is sampled with trilinear mipmapping ('repeat' wrap); the material's tangent-space
normal map perturbs the geometric normal (TBN frame from the per-vertex tangents); `shade` computes
the radiance of the point lights with the Disney BRDF (REFERENCE.md section 4; no shadows), plus
`ambient * albedo` for a uniform environment (approximate indirect light). Camera: pinhole with
85 degree horizontal field of view (REFERENCE.md section 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from intrinsix.kernels import PointLights, interpolate, meshes, rasterize, shade, texture

from .materials import Material
from .scene import Camera, Scene

FOV_DEG = 85.0
NEAR, FAR = 0.05, 100.0


@dataclass
class ViewMaps:
    """The maps of one view, image order (row 0 at the top), float32."""

    image: torch.Tensor  # [H, W, 3] HDR linear radiance (>= 0)
    albedo: torch.Tensor  # [H, W, 3] linear RGB in [0, 1]
    material: torch.Tensor  # [H, W, 3] R roughness, G metallic, B 0
    normal: torch.Tensor  # [H, W, 3] camera-space unit normals, OpenGL (+x right, +y up, +z to the viewer); 0 invalid
    depth: torch.Tensor  # [H, W, 1] camera depth (distance along the viewing axis) in mm; inf invalid
    mask: torch.Tensor  # [H, W, 1] 1 valid (a surface was hit), 0 invalid
    material_pixels: torch.Tensor  # [M] int64 pixel count of every scene material in this view


def pack_material(m: Material) -> torch.Tensor:  # [h, w, 8]: albedo 3, roughness, metallic, normal 3
    """One texture per material for a single `texture` call. Rows are flipped to the kernels'
    addressing (row 0 at v = 0, the bottom of the material image), so +v is "up" in the material
    image, which is the tangent-space +y of its normal map."""
    return torch.cat([m.albedo, m.roughness, m.metallic, m.normal], dim=-1).flip(0).contiguous()


def _screen_derivative(uv: torch.Tensor, group: torch.Tensor, dim: int) -> torch.Tensor:
    """d(uv)/d(pixel) along `dim` of uv [H, W, 2], from the neighbour of the same `group` [H, W]
    (-1 = empty) with the smaller difference (robust at part borders and UV seams); 0 if none."""
    diff = uv.diff(dim=dim)  # [.., n - 1, .., 2]
    g0, g1 = group.narrow(dim, 0, group.shape[dim] - 1), group.narrow(dim, 1, group.shape[dim] - 1)
    magnitude = torch.where((g0 == g1) & (g0 >= 0), diff.abs().sum(-1), torch.full_like(diff[..., 0], float("inf")))
    pad_shape = list(magnitude.shape)
    pad_shape[dim] = 1
    inf = torch.full(pad_shape, float("inf"))
    zero = torch.zeros(pad_shape + [2])
    forward_mag, backward_mag = torch.cat([magnitude, inf], dim), torch.cat([inf, magnitude], dim)
    forward, backward = torch.cat([diff, zero], dim), torch.cat([zero, diff], dim)
    pick = torch.where((forward_mag <= backward_mag).unsqueeze(-1), forward, backward)
    return torch.where(torch.isfinite(torch.minimum(forward_mag, backward_mag)).unsqueeze(-1), pick, 0.0)


def _normalize(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp(min=1e-12)


def render_view(scene: Scene, camera: Camera, size: tuple[int, int], textures: list[torch.Tensor] | None = None,
                brdf: str = "disney") -> ViewMaps:
    """Render one view at size (height, width). `textures` = [pack_material(m) for m in
    scene.materials] (computed here when None; pass it to reuse across views)."""
    height, width = size
    if textures is None:
        textures = [pack_material(m) for m in scene.materials]
    mesh = scene.mesh
    view = meshes.look_at(camera.eye, camera.target)
    mvp = meshes.perspective(FOV_DEG, width / height, NEAR, FAR) @ view
    rast = rasterize(mesh.pos, mesh.tri, (height, width), mvp=mvp[None])  # [1, H, W, 4], row 0 = bottom
    tri_id = rast[0, ..., 3].long() - 1
    valid = tri_id >= 0
    attrs = torch.cat([mesh.pos, mesh.normal, scene.tangents, mesh.uv], dim=-1)  # [V, 12]
    a = interpolate(attrs, rast, mesh.tri)[0]  # [H, W, 12]
    pos, geo_normal, tangent, handedness, uv = a[..., 0:3], a[..., 3:6], a[..., 6:9], a[..., 9:10], a[..., 10:12]
    part = torch.where(valid, mesh.part[tri_id.clamp(min=0)], -1)
    part_material = torch.tensor([p.material for p in scene.parts] + [-1])
    slot = part_material[part]  # part -1 -> index -1 -> the appended -1

    # [H, W, (u, v), (x, y)] flattened: (du/dx, du/dy, dv/dx, dv/dy) in uv units per pixel.
    uv_da = torch.stack([_screen_derivative(uv, part, 1), _screen_derivative(uv, part, 0)], dim=-1)
    uv_da = uv_da.reshape(height, width, 4)
    sampled = torch.zeros(height, width, 8)
    for k, tex in enumerate(textures):
        here = slot == k
        if bool(here.any()):
            values = texture(tex, uv[None], filter="linear-mipmap-linear", wrap="repeat", uv_da=uv_da[None])[0]
            sampled = torch.where(here.unsqueeze(-1), values, sampled)
    albedo, roughness, metallic = sampled[..., 0:3], sampled[..., 3:4], sampled[..., 4:5]
    normal_ts = _normalize(sampled[..., 5:8])

    # Shading normal in world space from the TBN frame (Gram-Schmidt after interpolation).
    to_camera = torch.tensor(camera.eye, dtype=torch.float32) - pos
    n = _normalize(geo_normal)
    n = torch.where(((n * to_camera).sum(-1, keepdim=True) < 0.0), -n, n)  # seen from behind: face the camera
    t = _normalize(tangent - n * (n * tangent).sum(-1, keepdim=True))
    b = torch.where(handedness < 0.0, -1.0, 1.0) * torch.linalg.cross(n, t)
    world_normal = _normalize(t * normal_ts[..., 0:1] + b * normal_ts[..., 1:2] + n * normal_ts[..., 2:3])

    rotation = view[:3, :3]
    cam_pos = pos @ rotation.T + view[:3, 3]
    cam_normal = _normalize(world_normal @ rotation.T)
    cam_view = _normalize(-cam_pos)
    mask = valid.unsqueeze(-1).float()
    lights = PointLights(scene.light_position @ rotation.T + view[:3, 3], scene.light_intensity)
    out = shade(albedo[None].clamp(0, 1), roughness[None].clamp(0, 1), metallic[None].clamp(0, 1),
                torch.where(valid.unsqueeze(-1), cam_normal, torch.tensor([0.0, 0.0, 1.0]))[None],
                torch.where(valid.unsqueeze(-1), cam_view, torch.tensor([0.0, 0.0, 1.0]))[None],
                lights, brdf, position=cam_pos[None], mask=mask[None], fov_deg=FOV_DEG)
    image = (out.diffuse[0] + out.specular[0] + scene.ambient * albedo) * mask

    depth = torch.where(valid, -cam_pos[..., 2] * 1000.0, torch.tensor(float("inf"))).unsqueeze(-1)
    material = torch.cat([roughness, metallic, torch.zeros_like(roughness)], dim=-1) * mask
    counts = torch.bincount(slot[valid], minlength=len(scene.materials))

    def top_down(x: torch.Tensor) -> torch.Tensor:
        return x.flip(0).contiguous()

    return ViewMaps(top_down(image), top_down(albedo * mask), top_down(material), top_down(cam_normal * mask),
                    top_down(depth), top_down(mask), counts)
