"""`shade`: physically based shading of albedo / roughness / metallic / normal maps
(docs/kernels/shade.md; math in REFERENCE.md section 4 and kernels/csrc/brdf.h)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch.autograd.function import once_differentiable

from . import _backend, _checks
from ._shade_checks import check_constant, check_values_many
from .lights import DEFAULT_FOV_DEG, LightGroup, PackedLights, pack_lights, tan_half_fov

BRDFS = ("disney", "ggx")


class ShadeOutput(NamedTuple):
    diffuse: torch.Tensor  # [B, H, W, 3] float32 linear radiance
    specular: torch.Tensor  # [B, H, W, 3] float32 linear radiance


def _kernel_args(view, position, mask, packed: PackedLights, brdf: str, tan_x: float, tan_y: float) -> tuple:
    """Everything after the four differentiable maps, in the order of the shade_fwd schema."""
    envs = packed.env_maps
    return (
        view, position, mask,
        packed.directional_direction, packed.directional_radiance, packed.point_position, packed.point_intensity,
        [e.texels for e in envs], [e.marginal for e in envs], [e.conditional for e in envs],
        [x for e in envs for x in e.rotation], [e.samples for e in envs], [e.seed for e in envs],
        BRDFS.index(brdf), tan_x, tan_y,
    )


class _Shade(torch.autograd.Function):
    @staticmethod
    def forward(ctx, albedo, roughness, metallic, normal, args):
        ctx.save_for_backward(albedo, roughness, metallic, normal)
        ctx.args = args
        return _backend.ops().shade_fwd(albedo, roughness, metallic, normal, *args)

    @staticmethod
    @once_differentiable
    def backward(ctx, v_diffuse, v_specular):
        albedo, roughness, metallic, normal = ctx.saved_tensors
        v_diffuse = torch.zeros_like(albedo) if v_diffuse is None else v_diffuse.float().contiguous()
        v_specular = torch.zeros_like(albedo) if v_specular is None else v_specular.float().contiguous()
        v_albedo, v_roughness, v_metallic, v_normal = _backend.ops().shade_bwd(
            v_diffuse, v_specular, albedo, roughness, metallic, normal, *ctx.args)
        need = ctx.needs_input_grad
        return (v_albedo if need[0] else None, v_roughness if need[1] else None,
                v_metallic if need[2] else None, v_normal if need[3] else None, None)


def shade(
    albedo: torch.Tensor,  # [B, H, W, 3] linear RGB in [0, 1]
    roughness: torch.Tensor,  # [B, H, W, 1] perceptual roughness in [0, 1]
    metallic: torch.Tensor,  # [B, H, W, 1] in [0, 1]
    normal: torch.Tensor,  # [B, H, W, 3] camera space (OpenGL), any nonzero length
    view: torch.Tensor | None,  # [B, H, W, 3] unit vectors toward the camera, or None (pinhole camera)
    lights: LightGroup | list[LightGroup],  # one light group or a list of them (results add up)
    brdf: str = "disney",
    *,
    position: torch.Tensor | None = None,  # [B, H, W, 3] camera-space surface points (point lights)
    mask: torch.Tensor | None = None,  # [B, H, W, 1] bool or float weight in [0, 1]; 0 = not shaded
    fov_deg: float = DEFAULT_FOV_DEG,
    validate: bool = True,
) -> ShadeOutput:
    """Diffuse and specular radiance of every pixel under the given lights.

    diffuse = sum over lights of L * f_d * max(n.l, 0), specular likewise with f_s, as float32
    [B, H, W, 3] linear radiance (the units of the light radiance). `brdf` is "disney" (IntrinsiX)
    or "ggx" (Zhu et al. 2022), REFERENCE.md section 4. The normal is normalised here (the gradient
    goes through the normalisation); zero-length normals and mask 0 give 0. With view None the
    REFERENCE pinhole camera with horizontal field of view `fov_deg` is used (row 0 = bottom row,
    see `view_directions`). Light groups add up; environment maps are Monte Carlo estimates with
    the map's `samples` and `seed` (deterministic for a given seed).

    Differentiable with respect to albedo, roughness, metallic and normal (the lights, view,
    position and mask are constants). Computation is float32 on the tensors' device; inputs of
    other floating dtypes are converted. validate=False skips the value checks (NaN, ranges), which
    cost a few reductions and one device sync; shapes, dtypes and devices are always checked.
    """
    _checks.check_choice(brdf, "brdf", BRDFS)
    _checks.check_float_tensor(albedo, "albedo", "[B, H, W, 3]", last_dim=3, dims=(4,))
    batch, height, width = albedo.shape[:3]
    pixels = (batch, height, width)
    maps = {"albedo": albedo, "roughness": roughness, "metallic": metallic, "normal": normal}
    optional = {"view": view, "position": position, "mask": mask}
    for name, t, channels in (("roughness", roughness, 1), ("metallic", metallic, 1), ("normal", normal, 3),
                              ("view", view, 3), ("position", position, 3), ("mask", mask, 1)):
        if t is None:
            continue
        if name == "mask" and isinstance(t, torch.Tensor) and t.dtype == torch.bool:
            t = optional["mask"] = t.float()
        _checks.check_float_tensor(t, name, f"[B, H, W, {channels}]", last_dim=channels, dims=(4,))
        if tuple(t.shape[:3]) != pixels:
            raise ValueError(f"{name} must have shape [B, H, W, {channels}] = {list(pixels) + [channels]} like "
                             f"albedo, got {tuple(t.shape)}")
    device = _checks.check_same_device(**maps, **{k: v for k, v in optional.items() if v is not None})
    for name, t in optional.items():
        check_constant(t, name)
    packed = pack_lights(lights, batch, device)
    if packed.point_position.shape[1] and position is None:
        raise ValueError("point lights need the surface position map: pass shade(..., position=[B, H, W, 3])")
    tan_x, tan_y = tan_half_fov(height, width, fov_deg)
    if validate:  # one device sync for all of them
        check_values_many([(t, name, *((None, None) if name in ("normal", "view", "position") else (0.0, 1.0)))
                           for name, t in {**maps, **optional}.items() if t is not None])
    prepared = [t.float().contiguous() for t in maps.values()]
    view, position, mask = (None if t is None else t.detach().float().contiguous() for t in optional.values())
    args = _kernel_args(view, position, mask, packed, brdf, tan_x, tan_y)
    return ShadeOutput(*_Shade.apply(*prepared, args))
