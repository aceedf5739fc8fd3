"""Validation images written during training (main process): generated maps and a relit render.

`<output.dir>/validation/step_<NNNNNNN>/<prompt index>_<name>.png`, 8-bit RGB:

| name | content |
|---|---|
| `albedo` | linear albedo, sRGB-encoded for display |
| `material` | R roughness, G metallic, B 0, as stored (no curve) |
| `normal` | camera-space normal, (n + 1) / 2 |
| `relit` | stage 2: `intrinsix.pbr.relight_preview` of the three maps (light at latitude 45 deg) |

Stage 1 trains one intrinsic, so it writes that map only. Generation uses the trainer's own
transformer (eval mode: no CI-dropout) through `IntrinsiXPipeline`, with a fixed CPU seed, so the
images of successive validations differ only by training.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from intrinsix.generator import IntrinsiXPipeline
from intrinsix.pbr.colorspace import linear_to_srgb

MAP_NAMES = ("albedo", "material", "normal")


def map_to_uint8(name: str, image: torch.Tensor) -> np.ndarray:  # [H, W, 3] -> [H, W, 3] uint8
    """Display encoding of a decoded map (see the module docstring)."""
    image = image.detach().float().cpu()
    if name == "albedo":
        image = linear_to_srgb(image)
    elif name == "normal":
        image = (image + 1.0) * 0.5
    elif name != "material":
        raise ValueError(f"name must be one of {MAP_NAMES}, got {name!r}")
    return (image.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8).numpy()


def relit_preview(albedo: torch.Tensor, material: torch.Tensor, normal: torch.Tensor) -> np.ndarray:
    """[H, W, 3] maps -> [H, W, 3] uint8 relit render (pbr.relight_preview, REFERENCE §4 composite)."""
    from intrinsix.pbr import TextureSet, relight_preview

    texture_set = TextureSet.from_generator(albedo.float().cpu(), material.float().cpu(), normal.float().cpu())
    return relight_preview(texture_set, light_latitude_deg=45.0, light_longitude_deg=0.0)


@torch.no_grad()
def write_validation_images(
    pipeline: IntrinsiXPipeline,
    folder: str | os.PathLike,
    prompts: Sequence[str],
    maps: Sequence[str],  # which maps to write: a subset of MAP_NAMES
    relit: bool,
    size: int,
    steps: int,
    guidance: float,
    seed: int,
) -> list[Path]:
    """Generate each prompt (one triple per prompt) and write the PNGs; returns the written paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, prompt in enumerate(prompts):
        out = pipeline(prompt, height=size, width=size, num_inference_steps=steps, guidance_scale=guidance,
                       generator=torch.Generator().manual_seed(seed + index))
        decoded = {"albedo": out.albedo[0], "material": out.material[0], "normal": out.normal[0]}
        images = {name: map_to_uint8(name, decoded[name]) for name in maps}
        if relit:
            images["relit"] = relit_preview(decoded["albedo"], decoded["material"], decoded["normal"])
        for name, image in images.items():
            path = folder / f"{index:02d}_{name}.png"
            Image.fromarray(image).save(path)
            written.append(path)
    return written
