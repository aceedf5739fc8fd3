"""`InteriorVerseDataset`: training samples from the InteriorVerse layout (layout.py), the real
data set or the synthetic one written by `intrinsix data make-procedural`.

Each sample is a dict of float32 tensors, channels last (what `generator` takes, [H, W, C]):

    image     [S, S, 3]  HDR linear radiance, >= 0 (unbounded)
    albedo    [S, S, 3]  linear RGB in [0, 1]
    material  [S, S, 3]  R roughness, G metallic in [0, 1]; B = 0 (REFERENCE.md section 3)
    normal    [S, S, 3]  unit camera-space normals, OpenGL (+x right, +y up, +z toward the viewer)
    depth     [S, S, 1]  camera depth in millimetres, 0 where invalid
    mask      [S, S, 1]  1 valid, 0 invalid
    caption   str        one line of the view's caption file, picked at random
    scene, view  str     where the sample came from

The trainer maps albedo and material to [-1, 1] (2x - 1) and feeds normals raw (REFERENCE.md
section 1).

Invalid pixels: a pixel is valid when mask > 0.5, its depth is finite and positive, every value of
image / albedo / material / normal is finite, and its normal has length > 0.5. Invalid pixels get
image 0, albedo 0, material 0, normal (0, 0, 1) (a flat surface facing the camera), depth 0, mask 0.
Valid normals whose length differs from 1 by more than 1e-4 are renormalised; values are otherwise
returned exactly as stored (albedo and material clamped to [0, 1], image to >= 0).

Augmentation (per sample, from numpy generators seeded by (seed, epoch, index): deterministic, and
the same in every DataLoader worker): with `size`, the view is resized so that its short side is
`size` (bilinear for the colour maps, renormalised bilinear for normals, nearest for depth and
mask; InteriorVerse views are 640 x 480, so a 512 crop needs this), then a size x size crop is
taken (random, or centred when random_crop=False); with `hflip`, half of the samples are mirrored
left-right and their normal x is negated (a mirrored camera-space normal).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import exr, layout


class InteriorVerseDataset(torch.utils.data.Dataset):
    """Views of the scenes listed in `<root>/dataset_85/<split>.txt` (see the module docstring)."""

    def __init__(
        self,
        root: str | os.PathLike,
        caption_root: str | os.PathLike | None = None,  # default: root (captions next to the maps)
        split: str = "train",
        size: int | None = 512,  # square crop side in pixels; None = whole views, no resize
        random_crop: bool = True,
        hflip: bool = True,
        seed: int = 0,
        resize_short_side: bool = True,
    ):
        self.root = Path(root)
        self.caption_root = Path(caption_root) if caption_root is not None else self.root
        layout.check_split(split)
        if size is not None and (not isinstance(size, int) or size < 1):
            raise ValueError(f"size must be None or an int >= 1 (crop side in pixels), got {size!r}")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        if not self.root.is_dir():
            raise FileNotFoundError(f"data set root not found: {self.root}")
        self.split, self.size, self.random_crop, self.hflip = split, size, random_crop, hflip
        self.seed, self.resize_short_side, self.epoch = seed, resize_short_side, 0
        self.items: list[tuple[str, str, Path]] = []
        for scene in layout.read_scene_list(self.root, split):
            folder = layout.scene_dir(self.root, scene)
            if not folder.is_dir():
                raise FileNotFoundError(f"scene {scene!r} of {layout.split_file(self.root, split)} has no folder "
                                        f"({self.root / layout.DATASET_DIR / scene})")
            self.items += [(scene, view, folder) for view in layout.list_views(folder)]
        if not self.items:
            raise ValueError(f"split {split!r} of {self.root} has no views (no <id>_im.exr in its scene folders)")
        missing = [layout.caption_path(self.caption_root, s, v) for s, v, _ in self.items
                   if not layout.caption_path(self.caption_root, s, v).is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} of {len(self.items)} views have no caption file, e.g. "
                                    f"{missing[0]} (caption_root={self.caption_root})")

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Change the random crops / flips / caption picks (call once per epoch)."""
        self.epoch = int(epoch)

    def captions(self, index: int) -> list[str]:
        scene, view, _ = self.items[index]
        path = layout.caption_path(self.caption_root, scene, view)
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not lines:
            raise ValueError(f"caption file {path} has no non-empty line")
        return lines

    def read_view(self, index: int) -> dict[str, torch.Tensor]:
        """The raw maps of a view as float32 [H, W, C] tensors, invalid pixels filled (module docstring)."""
        scene, view, folder = self.items[index]
        raw = {key: torch.from_numpy(exr.read_exr(layout.map_path(folder, view, key))) for key in layout.MAP_SUFFIXES}
        shapes = {key: tuple(t.shape[:2]) for key, t in raw.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"maps of view {scene}/{view} differ in size: {shapes}")
        channels = {"image": 3, "albedo": 3, "material": 3, "normal": 3, "depth": 1, "mask": 1}
        for key, want in channels.items():
            t = raw[key]
            if t.shape[2] != want:  # one-channel maps may be stored as RGB copies, and vice versa
                raw[key] = t[..., :1] if want == 1 else t.expand(-1, -1, 3)
        finite = torch.ones(shapes["image"], dtype=torch.bool)
        for key in ("image", "albedo", "material", "normal"):
            finite &= torch.isfinite(raw[key]).all(dim=-1)
        depth = raw["depth"][..., 0]
        normal_length = torch.nan_to_num(raw["normal"], nan=0.0, posinf=0.0, neginf=0.0).norm(dim=-1)
        valid = (raw["mask"][..., 0] > 0.5) & torch.isfinite(depth) & (depth > 0) & finite & (normal_length > 0.5)
        v = valid.unsqueeze(-1)
        zero = torch.zeros(())
        # Renormalise only normals that are not unit already, so stored unit normals pass unchanged.
        length = normal_length.unsqueeze(-1)
        unit = torch.where((length - 1.0).abs() > 1e-4, raw["normal"] / length.clamp(min=1e-12), raw["normal"])
        normal = torch.where(v, unit, torch.tensor([0.0, 0.0, 1.0]))
        material = torch.where(v, raw["material"], zero).clamp(0.0, 1.0)
        material[..., 2] = 0.0  # B is unused: zeroed (REFERENCE.md section 3)
        return {
            "image": torch.where(v, raw["image"], zero).clamp(min=0.0),
            "albedo": torch.where(v, raw["albedo"], zero).clamp(0.0, 1.0),
            "material": material,
            "normal": normal,
            "depth": torch.where(v, raw["depth"], zero),
            "mask": v.float(),
        }

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} views")
        index %= len(self)
        scene, view, _ = self.items[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        maps = self.read_view(index)
        if self.size is not None:
            maps = _resize_and_crop(maps, self.size, self.resize_short_side, self.random_crop, rng, f"{scene}/{view}")
        if self.hflip and rng.random() < 0.5:
            maps = {key: t.flip(1) for key, t in maps.items()}
            maps["normal"] = maps["normal"] * torch.tensor([-1.0, 1.0, 1.0])
        lines = self.captions(index)
        caption = lines[int(rng.integers(len(lines)))]
        return {**{k: t.contiguous() for k, t in maps.items()}, "caption": caption, "scene": scene, "view": view}


def _resize(t: torch.Tensor, height: int, width: int, mode: str) -> torch.Tensor:  # [H, W, C] -> [h, w, C]
    x = t.permute(2, 0, 1)[None]
    if mode == "nearest":
        y = F.interpolate(x, size=(height, width), mode="nearest-exact")
    else:
        y = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False,
                          antialias=height < t.shape[0])
    return y[0].permute(1, 2, 0)


def _resize_and_crop(maps: dict[str, torch.Tensor], size: int, resize_short_side: bool, random_crop: bool,
                     rng: np.random.Generator, name: str) -> dict[str, torch.Tensor]:
    height, width = maps["image"].shape[:2]
    if resize_short_side and min(height, width) != size:
        scale = size / min(height, width)
        new_h, new_w = max(size, round(height * scale)), max(size, round(width * scale))
        resized = {}
        for key, t in maps.items():
            resized[key] = _resize(t, new_h, new_w, "nearest" if key in ("depth", "mask") else "bilinear")
        n = resized["normal"]
        resized["normal"] = n / n.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        maps, height, width = resized, new_h, new_w
    if height < size or width < size:
        raise ValueError(f"view {name} is {width}x{height}, smaller than the crop size {size} "
                         "(use resize_short_side=True or a smaller size)")
    if random_crop:
        top, left = int(rng.integers(height - size + 1)), int(rng.integers(width - size + 1))
    else:
        top, left = (height - size) // 2, (width - size) // 2
    return {key: t[top:top + size, left:left + size] for key, t in maps.items()}
