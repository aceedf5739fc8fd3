"""Contact sheet of generated texture sets: one block per prompt, five tiles side by side.

    albedo (sRGB-encoded) | roughness (grey) | metallic (grey) | normal ((n + 1) / 2) | relit preview

The relit preview is `pbr.relight_preview` (the published demo composite, light at latitude 45
degrees), the same picture `intrinsix generate` writes as preview.png. The prompt is printed above
each block, with a mark for every failed evaluation check.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..validation import map_to_uint8, relit_preview

COLUMNS = ("albedo", "roughness", "metallic", "normal", "relit")
LABEL_HEIGHT = 16
GAP = 6


def tiles_of(albedo: torch.Tensor, material: torch.Tensor, normal: torch.Tensor) -> list[np.ndarray]:
    """The five [H, W, 3] uint8 tiles of one texture set (see the module docstring)."""
    material8 = map_to_uint8("material", material)
    roughness, metallic = (np.repeat(material8[..., c:c + 1], 3, axis=-1) for c in (0, 1))
    return [map_to_uint8("albedo", albedo), roughness, metallic, map_to_uint8("normal", normal),
            relit_preview(albedo, material, normal)]


def contact_sheet(blocks: Sequence[tuple[str, list[np.ndarray]]], tile: int = 96, per_row: int = 3) -> Image.Image:
    """Lay out (label, five tiles) blocks, `per_row` blocks per row, tiles resized to `tile` px."""
    if not blocks:
        raise ValueError("contact_sheet needs at least one block")
    font = ImageFont.load_default()
    block_w = len(COLUMNS) * tile + (len(COLUMNS) - 1) * 2
    block_h = LABEL_HEIGHT + tile
    rows = (len(blocks) + per_row - 1) // per_row
    header = LABEL_HEIGHT + 4
    sheet = Image.new("RGB", (per_row * block_w + (per_row + 1) * GAP, header + rows * (block_h + GAP) + GAP),
                      (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    draw.text((GAP, 4), "  |  ".join(COLUMNS), fill=(200, 200, 200), font=font)
    for i, (label, tiles) in enumerate(blocks):
        x0 = GAP + (i % per_row) * (block_w + GAP)
        y0 = header + GAP + (i // per_row) * (block_h + GAP)
        draw.text((x0, y0 + 2), label, fill=(235, 235, 235), font=font)
        for k, image in enumerate(tiles):
            thumb = Image.fromarray(image).resize((tile, tile), Image.Resampling.LANCZOS)
            sheet.paste(thumb, (x0 + k * (tile + 2), y0 + LABEL_HEIGHT))
    return sheet


def write_contact_sheet(generated, report: dict, path: str | Path, tile: int = 96) -> Path:
    """Contact sheet of `evaluate.evaluate`'s generated sets, labelled with their prompts and the
    names of failed checks."""
    failed = {}
    for row in report["prompts"]:
        key = (row["prompt"]["prompt"], row["prompt"]["seed"])
        failed[key] = [name for name, check in row["checks"].items() if not check["ok"]]
    blocks = []
    for g in generated:
        marks = failed.get((g.prompt.prompt, g.prompt.seed), [])
        label = g.prompt.prompt + ("" if g.prompt.held_out else " (seen)")
        if marks:
            label += f"  FAIL: {', '.join(marks)}"
        blocks.append((label, tiles_of(g.albedo, g.material, g.normal)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(blocks, tile=tile).save(path, optimize=True)
    return path
