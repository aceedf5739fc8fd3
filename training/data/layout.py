"""The InteriorVerse file layout (REFERENCE.md section 5), for reading and writing.

    <root>/dataset_85/{train,val,test}.txt           scene folder names, one per line
    <root>/dataset_85/<scene>/<id>_im.exr            HDR linear radiance, RGB
    <root>/dataset_85/<scene>/<id>_albedo.exr        linear albedo, RGB in [0, 1]
    <root>/dataset_85/<scene>/<id>_material.exr      R roughness, G metallic, B unused (0)
    <root>/dataset_85/<scene>/<id>_normal.exr        camera-space unit normals, OpenGL, [-1, 1]
    <root>/dataset_85/<scene>/<id>_depth.exr         camera depth in millimetres, inf = invalid
    <root>/dataset_85/<scene>/<id>_mask.exr          1 = valid pixel, 0 = invalid
    <caption_root>/dataset_85/<scene>/<id>_caption.txt   several captions, one per line

The reader also accepts scene folders directly under <root> (<root>/<scene>/...).
"""

from __future__ import annotations

import os
from pathlib import Path

DATASET_DIR = "dataset_85"
SPLITS = ("train", "val", "test")
# Data set key -> file name suffix of the map.
MAP_SUFFIXES: dict[str, str] = {
    "image": "im", "albedo": "albedo", "material": "material", "normal": "normal", "depth": "depth", "mask": "mask",
}
CAPTION_SUFFIX = "caption.txt"


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def split_file(root: str | os.PathLike, split: str) -> Path:
    return Path(root) / DATASET_DIR / f"{check_split(split)}.txt"


def read_scene_list(root: str | os.PathLike, split: str) -> list[str]:
    """Scene names of a split (blank lines and surrounding spaces ignored)."""
    path = split_file(root, split)
    if not path.is_file():
        raise FileNotFoundError(f"scene list for split {split!r} not found: {path} (expected the InteriorVerse "
                                f"layout <root>/{DATASET_DIR}/{{train,val,test}}.txt)")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def scene_dir(root: str | os.PathLike, scene: str) -> Path:
    """<root>/dataset_85/<scene>, or <root>/<scene> when only that exists."""
    nested = Path(root) / DATASET_DIR / scene
    flat = Path(root) / scene
    return flat if not nested.is_dir() and flat.is_dir() else nested


def map_path(folder: str | os.PathLike, view: str, key: str) -> Path:
    if key not in MAP_SUFFIXES:
        raise ValueError(f"map key must be one of {sorted(MAP_SUFFIXES)}, got {key!r}")
    return Path(folder) / f"{view}_{MAP_SUFFIXES[key]}.exr"


def caption_path(caption_root: str | os.PathLike, scene: str, view: str) -> Path:
    return Path(caption_root) / DATASET_DIR / scene / f"{view}_{CAPTION_SUFFIX}"


def list_views(folder: str | os.PathLike) -> list[str]:
    """View ids of a scene folder (those with an `<id>_im.exr`), sorted."""
    suffix = f"_{MAP_SUFFIXES['image']}.exr"
    return sorted(p.name[: -len(suffix)] for p in Path(folder).glob(f"*{suffix}"))


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to a temporary file next to `path`, then rename it over `path`."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path
