"""Room texturing as a server job: the one entry point `intrinsix.server`'s production backend
calls for TextureRoom (kept here so that the server stays a thin adapter).

Mapping of the protocol's RoomParams (job.proto) onto the texturer:
- the uploaded RAW mesh is one object named `material_name`; its UVs (if any) are kept exactly and
  read with the origin at the top left, the convention every exported image and manifest states;
  without UVs the texturer makes an xatlas atlas;
- `texture_size`: the object's square maps (the whole texel budget);
- `steps`: units of ITERATIONS_PER_STEP (20) score-distillation iterations, so the model's
  default 28 steps give the default 560 iterations; progress, previews (`preview_every` steps)
  and cancellation follow the iterations;
- `prompt` / `branch_prompts`, `guidance`, `true_cfg_scale` + `negative_prompt`, `seed` as in
  generation; the rendered views have the model's default image size.
The result is the object's texture set exported for `profile`, plus `<Name>_room.glb` (the
textured mesh, semantic "model"), all described by material.json (with the room report under
"room").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import torch

from intrinsix.pbr import MANIFEST_NAME, ExportedFile, ExportResult, export
from intrinsix.pbr.colorspace import linear_to_srgb
from intrinsix.pbr.png import encode_png8

from .export import object_texture_sets, room_glb, room_report
from .optimize import ITERATIONS_PER_STEP, PreviewHook, TexturingConfig, texture_room
from .prior import IntrinsiXPrior
from .scene import scene_from_arrays

# (stage, relative weight) in the order they are reported; the server adds "storing".
ROOM_STAGES = (("cameras", 0.04), ("texturing", 0.62), ("normal_detail", 0.22), ("dilating", 0.02),
               ("exporting", 0.10))


def _preview_pngs(rendered, size: int) -> dict[str, bytes]:
    """8-bit PNGs of the three branch images of one rendered view (albedo sRGB, material, normal
    encoded 0.5 n + 0.5)."""
    images = {"albedo": linear_to_srgb(rendered.albedo[0].cpu()), "material": rendered.material[0].cpu(),
              "normal": rendered.normal[0].cpu() * 0.5 + 0.5}
    return {branch: encode_png8((image.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy())
            for branch, image in images.items()}


def run_room_job(
    pipe,
    params,  # intrinsix.server.backend.RoomParams
    mesh,  # intrinsix.server.backend.RoomMesh
    on_progress: Callable[[str, int, int], None],
    on_preview: Callable[[int, int, Mapping[str, bytes]], None],
    is_cancelled: Callable[[], bool],
    *,
    resolution: int,
    export_options: Mapping | None = None,
    model_name: str = "",
) -> ExportResult:
    """Texture the uploaded mesh (module docstring) and export it. Raises the server's JobCancelled
    as soon as `is_cancelled()` turns True (checked every iteration), ValueError (MeshError) for a
    mesh the texturer cannot use."""
    from intrinsix.server.backend import JobCancelled

    scene = scene_from_arrays(mesh.positions, mesh.triangles, None, mesh.uvs, names=[params.material_name],
                              uv_origin="top_left")
    prompt = params.prompt if isinstance(params.prompt, str) else tuple(params.prompt)
    prior = IntrinsiXPrior(pipe, guidance=params.guidance, true_cfg_scale=params.true_cfg_scale,
                           negative_prompt=params.negative_prompt)
    config = TexturingConfig(iterations=params.steps * ITERATIONS_PER_STEP, resolution=resolution,
                             texture_budget=params.texture_size ** 2, seed=params.seed % (2 ** 63))

    def progress(stage: str, step: int, total: int) -> None:
        if is_cancelled():
            raise JobCancelled()
        on_progress(stage, step, total)

    def preview(iteration: int, total: int, rendered) -> None:
        on_preview(iteration // ITERATIONS_PER_STEP, total // ITERATIONS_PER_STEP,
                   _preview_pngs(rendered, params.preview_size))

    hook = None
    if params.preview_every:
        hook = PreviewHook(preview, every=params.preview_every * ITERATIONS_PER_STEP, size=params.preview_size)
    result = texture_room(scene, prior, prompt, config, on_progress=progress, preview=hook)
    progress("exporting", 0, 1)
    texture_set = object_texture_sets(result)[0].with_derived()  # derived maps once for both files
    prompt_text = prompt if isinstance(prompt, str) else " | ".join(prompt)
    metadata = {"prompt": prompt_text, "seed": params.seed, "steps": params.steps,
                "iterations": config.iterations, "guidance": params.guidance, "model": model_name,
                "coverage": round(result.plan.coverage, 6)}
    exported = export(texture_set, params.profile, metadata=metadata, **dict(export_options or {}))
    glb = ExportedFile(name=f"{params.material_name}_room.glb", semantic="model", color_space="none",
                       format="glb", width=0, height=0, channels=0, data=room_glb(result, [texture_set]))
    files = [f for f in exported.files if f.semantic != "manifest"] + [glb]
    manifest = dict(exported.manifest, files=[f.describe() for f in files],
                    room=room_report(result))
    data = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    files.append(ExportedFile(name=MANIFEST_NAME, semantic="manifest", color_space="none", format="json", width=0,
                              height=0, channels=0, data=data, tiling=False))
    progress("exporting", 1, 1)
    return ExportResult(profile=exported.profile, material_name=exported.material_name, files=tuple(files),
                        manifest=manifest)
