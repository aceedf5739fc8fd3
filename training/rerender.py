"""The stage-2 re-render loss (REFERENCE §3): render the predicted and the ground-truth maps under
the same importance-sampled lights with `intrinsix.kernels.shade` and compare.

    lights = sample_lights(pred roughness, pred normal, n)            (no gradient, REFERENCE §3)
    loss   = sum over the n lights of MSE(render_l(pred), render_l(gt))   (mean over images, pixels, RGB)

render_l = diffuse + specular of one white directional light of radiance e (what `sample_lights`
returns), Disney BRDF by default, camera of REFERENCE §4 (85 deg pinhole), no shadows; with
render_space "tonemapped" both renders go through the preview tone map log(1 + 64 x) / log(65)
first (REFERENCE §4), which keeps the mirror highlights the light sampling aims at (radiance
in the hundreds for a polished pixel) from dominating the loss; "linear" compares raw radiance.
Masked-out pixels (InteriorVerse invalid pixels) render black in both and never receive a light.
Maps arrive with row 0 at the TOP (data sets, VAE images); the kernels put row 0 at the bottom, so
rows are flipped on the way in.
"""

from __future__ import annotations

import math

import torch

from intrinsix.kernels import DirectionalLights, sample_lights, shade

from .lpips import LPIPS

_TONE_GAIN = 64.0


def tone_map(radiance: torch.Tensor) -> torch.Tensor:
    """log(1 + 64 x) / log(65): 0 -> 0, 1 -> 1, smooth and monotone (REFERENCE §4 preview)."""
    return torch.log1p(_TONE_GAIN * radiance.clamp_min(0.0)) / math.log1p(_TONE_GAIN)


def render(
    albedo: torch.Tensor,  # [N, H, W, 3] linear in [0, 1], row 0 at the bottom
    material: torch.Tensor,  # [N, H, W, 3] R roughness, G metallic in [0, 1]
    normal: torch.Tensor,  # [N, H, W, 3] camera-space (OpenGL), any length
    direction: torch.Tensor,  # [N, 1, 3] toward the light
    radiance: torch.Tensor,  # [N, 1, 3]
    mask: torch.Tensor | None,  # [N, H, W, 1] float weight or None
    brdf: str,
) -> torch.Tensor:  # [N, H, W, 3] linear radiance
    out = shade(albedo, material[..., 0:1], material[..., 1:2], normal, None,
                DirectionalLights(direction, radiance), brdf=brdf, mask=mask, validate=False)
    return out.diffuse + out.specular


def rerender_loss(
    pred: dict[str, torch.Tensor],  # albedo, material, normal: [G, H, W, 3], row 0 at the top
    gt: dict[str, torch.Tensor],  # the same keys and shapes
    num_lights: int = 5,
    generator: torch.Generator | None = None,  # for the light picks; on the maps' device type
    mask: torch.Tensor | None = None,  # [G, H, W, 1] 1 valid, 0 invalid
    brdf: str = "disney",
    render_space: str = "tonemapped",
    lpips: LPIPS | None = None,
) -> dict[str, torch.Tensor]:
    """{"rerender": scalar, "lpips": scalar (0 without an LPIPS model), "pred_render": [G*n, H, W, 3],
    "gt_render": [G*n, H, W, 3] (row 0 at the top again, detached; image g light l at row g*n + l),
    "lights": the SampledLights (kernel frame: pixel rows counted from the bottom)}; see the module docstring.

    Differentiable w.r.t. the predicted maps (not w.r.t. the light choice); 0 when pred == gt.
    """
    if render_space not in ("tonemapped", "linear"):
        raise ValueError(f"render_space must be 'tonemapped' or 'linear', got {render_space!r}")
    if not isinstance(num_lights, int) or num_lights < 1:
        raise ValueError(f"num_lights must be an integer >= 1, got {num_lights!r}")
    keys = ("albedo", "material", "normal")
    for name, maps in (("pred", pred), ("gt", gt)):
        for key in keys:
            if key not in maps:
                raise ValueError(f"{name} must hold {keys}, missing {key!r}")
            if maps[key].shape != pred["albedo"].shape or maps[key].dim() != 4 or maps[key].shape[-1] != 3:
                raise ValueError(f"{name}[{key!r}] must have shape {list(pred['albedo'].shape)} = [G, H, W, 3], "
                                 f"got {list(maps[key].shape)}")
    groups = pred["albedo"].shape[0]
    p = {k: pred[k].float().flip(1) for k in keys}
    g = {k: gt[k].float().flip(1).to(p[k].device) for k in keys}
    weight = None
    pick_mask = None
    if mask is not None:
        weight = mask.float().flip(1).to(p["albedo"].device)
        pick_mask = weight[..., 0] > 0.5
        empty = ~pick_mask.flatten(1).any(dim=1)
        if bool(empty.any()):  # an image without valid pixels renders black in both: any light will do
            pick_mask = pick_mask | empty.view(-1, 1, 1)

    lights = sample_lights(p["material"][..., 0:1].detach(), p["normal"].detach(), view=None, n=num_lights,
                           generator=generator, mask=pick_mask)
    # One render per (image, light): repeat each image n times, one light each.
    direction = lights.direction.reshape(groups * num_lights, 1, 3)
    radiance = lights.radiance.reshape(groups * num_lights, 1, 3)

    def rows(t):
        return None if t is None else t.repeat_interleave(num_lights, dim=0)

    pred_render = render(rows(p["albedo"]), rows(p["material"]), rows(p["normal"]), direction, radiance,
                         rows(weight), brdf)
    gt_render = render(rows(g["albedo"]), rows(g["material"]), rows(g["normal"]), direction, radiance,
                       rows(weight), brdf)
    if render_space == "tonemapped":
        pred_render, gt_render = tone_map(pred_render), tone_map(gt_render)
    per_light = ((pred_render - gt_render) ** 2).mean(dim=(1, 2, 3)).view(groups, num_lights)
    loss = per_light.mean(dim=0).sum()
    perceptual = loss.new_zeros(())
    if lpips is not None:
        to_signed = lambda t: (t.clamp(0.0, 1.0) * 2.0 - 1.0).permute(0, 3, 1, 2)  # noqa: E731
        perceptual = lpips(to_signed(pred_render), to_signed(gt_render)).view(groups, num_lights).mean(dim=0).sum()
    return {"rerender": loss, "lpips": perceptual, "pred_render": pred_render.detach().flip(1),
            "gt_render": gt_render.detach().flip(1), "lights": lights}
