"""Export a texture set for an engine profile, and write the result to a folder.

`export` returns an `ExportResult`: the profile's files plus `material.json`, the manifest that
describes every file (last in the list). `write_export` writes them atomically: every file is
staged under a temporary name in the target folder and only renamed into place once all of them
were written, the manifest last, so a failure leaves no half-written file behind.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .files import ExportedFile, ExportResult, check_file_name
from .maps import TextureSet
from .png import encode_png8
from .profiles import ExportOptions, ExportProfile, get_profile

MANIFEST_NAME = "material.json"
PREVIEW_NAME = "preview.png"
MANIFEST_SCHEMA = "intrinsix.material/1"
_METADATA_TYPES = (str, int, float, bool, type(None))


def _preview_file(preview, tiling: bool) -> ExportedFile:
    if not isinstance(preview, np.ndarray) or preview.dtype != np.uint8 or preview.ndim != 3 or preview.shape[-1] != 3:
        got = f"{preview.dtype} {preview.shape}" if isinstance(preview, np.ndarray) else type(preview).__name__
        raise ValueError(f"preview must be a uint8 numpy array [H, W, 3] (sRGB, e.g. from relight_preview), got {got}")
    rows, cols = preview.shape[:2]
    return ExportedFile(name=PREVIEW_NAME, semantic="preview", color_space="srgb", format="png8", width=cols,
                        height=rows, channels=3, data=encode_png8(preview), tiling=tiling)


def _check_metadata(metadata: Mapping | None) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping of str to str/int/float/bool/None, got {type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, _METADATA_TYPES):
            raise TypeError(f"metadata[{key!r}] must map a str to str/int/float/bool/None, got {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"metadata[{key!r}] must be finite, got {value!r}")
    return dict(metadata)


def build_manifest(texture_set: TextureSet, profile: ExportProfile, files: list[ExportedFile],
                   metadata: dict) -> dict:
    """The content of material.json (see docs/pbr.md for every field)."""
    rows, cols = texture_set.resolution
    height_scale = texture_set["height"].height_scale if "height" in texture_set else None
    return {
        "schema": MANIFEST_SCHEMA,
        "material": texture_set.name,
        "profile": profile.name,
        "resolution": {"width": cols, "height": rows},
        "tiling": texture_set.tiling,
        "conventions": dict(profile.conventions),
        "height_scale": None if height_scale is None else {"texels": height_scale, "uv": height_scale / cols},
        "files": [f.describe() for f in files],
        "metadata": metadata,
    }


def export(
    texture_set: TextureSet,
    profile: str | ExportProfile,
    *,
    normal_bits: int = 8,
    gltf_layout: str = "glb",
    preview: np.ndarray | None = None,  # [H, W, 3] uint8 sRGB, written as preview.png
    metadata: Mapping[str, str | int | float | bool | None] | None = None,
) -> ExportResult:
    """All files of `texture_set` for `profile` ("unreal", "godot", "gltf", "unity", "raw").

    Missing derived maps (height from normals, ambient occlusion from height) are computed first.
    normal_bits, gltf_layout: see profiles.ExportOptions. preview: optional relit preview image.
    metadata: extra facts stored under "metadata" in the manifest (prompt, seed, model, ...).
    Returns an ExportResult whose last file is material.json.
    """
    if not isinstance(texture_set, TextureSet):
        raise TypeError(f"texture_set must be a TextureSet, got {type(texture_set).__name__}")
    chosen = get_profile(profile)
    options = ExportOptions(normal_bits=normal_bits, gltf_layout=gltf_layout)
    metadata = _check_metadata(metadata)
    complete = texture_set.with_derived()
    files = list(chosen.build(complete, options))
    if preview is not None:
        files.append(_preview_file(preview, complete.tiling))
    names = [f.name for f in files]
    if len(set(names)) != len(names) or MANIFEST_NAME in names:
        raise RuntimeError(f"profile {chosen.name!r} produced clashing file names: {names}")
    manifest = build_manifest(complete, chosen, files, metadata)
    manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    files.append(ExportedFile(name=MANIFEST_NAME, semantic="manifest", color_space="none", format="json",
                              width=0, height=0, channels=0, data=manifest_bytes, tiling=complete.tiling))
    return ExportResult(profile=chosen.name, material_name=complete.name, files=tuple(files), manifest=manifest)


def write_export(result: ExportResult, out_dir: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Write every file of `result` into `out_dir` (created if missing); returns the paths.

    An existing file with identical bytes is left as it is. An existing file with different bytes
    raises FileExistsError unless overwrite=True; nothing is written in that case. Symbolic links
    and non-files in the way are always refused. Files are staged as hidden temporary files in
    `out_dir`, flushed to disk, then renamed into place (manifest last; each rename is atomic);
    on any error the staged files are removed, so no partially written file is left.
    """
    if not isinstance(result, ExportResult):
        raise TypeError(f"result must be an ExportResult, got {type(result).__name__}")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise NotADirectoryError(f"out_dir {str(folder)!r} is not a directory")

    pending: list[tuple[ExportedFile, Path]] = []
    for exported in result.files:
        target = folder / check_file_name(exported.name)
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise FileExistsError(f"{str(target)!r} exists and is not a regular file; refusing to replace it")
        if target.exists():
            if target.read_bytes() == exported.data:
                continue
            if not overwrite:
                raise FileExistsError(f"{str(target)!r} exists with different content; pass overwrite=True "
                                      "to replace it")
        pending.append((exported, target))

    staged: list[tuple[Path, Path]] = []
    try:
        for exported, target in pending:
            descriptor, temporary_name = tempfile.mkstemp(prefix=f".{exported.name}.", suffix=".tmp", dir=folder)
            staged.append((Path(temporary_name), target))
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(exported.data)
                handle.flush()
                os.fsync(handle.fileno())
        for temporary, target in staged:  # the manifest is the last file of an ExportResult
            os.replace(temporary, target)
    finally:
        for temporary, _ in staged:
            if temporary.exists():
                temporary.unlink()
    return [folder / f.name for f in result.files]
