"""Exported texture files: what `pbr` export produces and what the server streams to clients.

An `ExportResult` is a list of in-memory files plus the `material.json` manifest that describes
them. It is the hand-off between `intrinsix.pbr` (which knows engine conventions) and
`intrinsix.server` (which only stores and streams bytes, with the metadata as typed headers).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property

# Semantics of exported files.
SEMANTICS = (
    "base_color",  # albedo / base colour, RGB
    "roughness",
    "metallic",
    "normal",
    "height",
    "ambient_occlusion",
    "orm",  # packed occlusion / roughness / metallic (channel order in `packing`)
    "metallic_smoothness",  # Unity: metallic in R, smoothness (1 - roughness) in A
    "material",  # the generator's raw material branch: R roughness, G metallic
    "preview",  # a relit preview render
    "model",  # a glTF/GLB material or scene
    "manifest",  # material.json
)
COLOR_SPACES = ("srgb", "linear", "none")  # "none" for non-image files
FORMATS = ("png8", "png16", "exr_half", "exr_float", "glb", "gltf", "json")
NORMAL_CONVENTIONS = ("opengl", "directx")

# File names are plain names: letters, digits, '_', '-', '.', no directories, no leading dot.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


def check_file_name(name: str) -> str:
    """Return `name` if it is a safe plain file name, else raise ValueError naming the rule."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(
            f"file name {name!r} is not allowed: use 1-128 characters from letters, digits, '_', '-', '.', "
            "not starting with '.', with no '..' and no directories"
        )
    return name


@dataclass(frozen=True)
class ExportedFile:
    """One exported file, in memory, with the metadata a client needs to import it correctly."""

    name: str  # plain file name, e.g. "T_RedBrick_BC.png" (check_file_name)
    semantic: str  # one of SEMANTICS
    color_space: str  # one of COLOR_SPACES: how the stored values are encoded
    format: str  # one of FORMATS
    width: int  # pixels; 0 for non-image files
    height: int  # pixels; 0 for non-image files
    channels: int  # stored channels (1, 2, 3 or 4); 0 for non-image files
    data: bytes = field(repr=False)
    normal_convention: str | None = None  # one of NORMAL_CONVENTIONS for normal maps, else None
    packing: str | None = None  # channel layout of packed maps, e.g. "R=ambient_occlusion,G=roughness,B=metallic"
    tiling: bool = False  # True if the map tiles seamlessly
    derived: bool = False  # True if computed from other maps (height from normals, AO from height)

    def __post_init__(self) -> None:
        check_file_name(self.name)
        for label, value, allowed in (
            ("semantic", self.semantic, SEMANTICS),
            ("color_space", self.color_space, COLOR_SPACES),
            ("format", self.format, FORMATS),
        ):
            if value not in allowed:
                raise ValueError(f"{label} must be one of {allowed}, got {value!r}")
        if self.normal_convention is not None and self.normal_convention not in NORMAL_CONVENTIONS:
            raise ValueError(f"normal_convention must be one of {NORMAL_CONVENTIONS} or None, got {self.normal_convention!r}")

    @cached_property
    def sha256(self) -> str:
        """Hex SHA-256 of `data`."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)

    def describe(self) -> dict:
        """The manifest entry for this file (everything but the bytes)."""
        return {
            "name": self.name,
            "semantic": self.semantic,
            "color_space": self.color_space,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "channels": self.channels,
            "normal_convention": self.normal_convention,
            "packing": self.packing,
            "tiling": self.tiling,
            "derived": self.derived,
            "bytes": self.size,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class ExportResult:
    """All files of one exported texture set for one engine profile, manifest included."""

    profile: str  # "unreal", "godot", "gltf", "unity" or "raw"
    material_name: str
    files: tuple[ExportedFile, ...]  # the manifest (material.json) is the last file
    manifest: dict  # parsed content of material.json

    def file(self, name: str) -> ExportedFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"no file named {name!r} in this export (have: {[f.name for f in self.files]})")
