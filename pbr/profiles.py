"""Engine export profiles: which files each engine gets, their names, formats and conventions.

    unreal  T_<Name>_BC.png (sRGB), T_<Name>_N.png (DirectX), T_<Name>_ORM.png, T_<Name>_H.png (16-bit)
    godot   <Name>_albedo.png (sRGB), <Name>_normal.png (OpenGL), <Name>_orm.png, <Name>_height.exr (float)
    gltf    <Name>.glb (or <Name>.gltf + PNGs), <Name>_height.png (16-bit)
    unity   <Name>_Albedo.png (sRGB), <Name>_Normal.png (OpenGL), <Name>_MetallicSmoothness.png,
            <Name>_Occlusion.png, <Name>_Height.png (16-bit)
    raw     <Name>_<map>.exr, linear float32, for every map
docs/pbr.md describes each file and how to import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import packing
from .files import ExportedFile
from .gltf import build_glb, build_gltf
from .maps import TextureSet

GLTF_LAYOUTS = ("glb", "gltf")


@dataclass(frozen=True)
class ExportOptions:
    """Choices that apply across profiles.

    normal_bits: 8 or 16 bits per channel for PNG normal maps (16 avoids banding on smooth
        surfaces; Unreal and Unity import 16-bit PNG normals, Godot reduces PNGs to 8 bits).
    gltf_layout: "glb" (one binary file, images embedded) or "gltf" (JSON + PNG files).
    """

    normal_bits: int = 8
    gltf_layout: str = "glb"

    def __post_init__(self) -> None:
        if self.normal_bits not in (8, 16):
            raise ValueError(f"normal_bits must be 8 or 16, got {self.normal_bits!r}")
        if self.gltf_layout not in GLTF_LAYOUTS:
            raise ValueError(f"gltf_layout must be one of {GLTF_LAYOUTS}, got {self.gltf_layout!r}")


@dataclass(frozen=True)
class ExportProfile:
    name: str  # lowercase registry key
    description: str
    normal_convention: str  # of the exported normal maps
    conventions: dict  # written to the manifest under "conventions"
    build: Callable[[TextureSet, ExportOptions], list[ExportedFile]] = field(repr=False)  # the files, in order


def _unreal(ts: TextureSet, options: ExportOptions) -> list[ExportedFile]:
    prefix = f"T_{ts.name}"
    return [
        packing.base_color_png(ts, f"{prefix}_BC.png"),
        packing.normal_png(ts, f"{prefix}_N.png", "directx", options.normal_bits),
        packing.orm_png(ts, f"{prefix}_ORM.png"),
        packing.grey_png(ts, "height", f"{prefix}_H.png", 16),
    ]


def _godot(ts: TextureSet, options: ExportOptions) -> list[ExportedFile]:
    return [
        packing.base_color_png(ts, f"{ts.name}_albedo.png"),
        packing.normal_png(ts, f"{ts.name}_normal.png", "opengl", options.normal_bits),
        packing.orm_png(ts, f"{ts.name}_orm.png"),
        # One "R" channel: Godot 4 loads it as a single-channel float (RF) texture.
        packing.map_exr(ts, "height", f"{ts.name}_height.exr", "float", grey_channel="R"),
    ]


def _gltf(ts: TextureSet, options: ExportOptions) -> list[ExportedFile]:
    images = {
        "base_color": packing.base_color_png(ts, f"{ts.name}_baseColor.png"),
        "orm": packing.orm_png(ts, f"{ts.name}_occlusionRoughnessMetallic.png"),
        "normal": packing.normal_png(ts, f"{ts.name}_normal.png", "opengl", options.normal_bits),
    }
    height = packing.grey_png(ts, "height", f"{ts.name}_height.png", 16)
    if options.gltf_layout == "glb":
        data = build_glb(ts.name, {role: f.data for role, f in images.items()}, ts.resolution, ts.tiling)
        model = ExportedFile(name=f"{ts.name}.glb", semantic="model", color_space="none", format="glb", width=0,
                             height=0, channels=0, data=data, tiling=ts.tiling)
        return [model, height]
    data = build_gltf(ts.name, {role: f.name for role, f in images.items()}, ts.resolution, ts.tiling)
    model = ExportedFile(name=f"{ts.name}.gltf", semantic="model", color_space="none", format="gltf", width=0,
                         height=0, channels=0, data=data, tiling=ts.tiling)
    return [model, *images.values(), height]


def _unity(ts: TextureSet, options: ExportOptions) -> list[ExportedFile]:
    return [
        packing.base_color_png(ts, f"{ts.name}_Albedo.png"),
        packing.normal_png(ts, f"{ts.name}_Normal.png", "opengl", options.normal_bits),
        packing.metallic_smoothness_png(ts, f"{ts.name}_MetallicSmoothness.png"),
        packing.grey_png(ts, "ambient_occlusion", f"{ts.name}_Occlusion.png", 8),
        packing.grey_png(ts, "height", f"{ts.name}_Height.png", 16),
    ]


def _raw(ts: TextureSet, options: ExportOptions) -> list[ExportedFile]:
    return [packing.map_exr(ts, semantic, f"{ts.name}_{semantic}.exr", "float") for semantic in ts.maps]


# Manifest "conventions": short machine-readable tokens, explained in docs/pbr.md.
_COMMON = {
    "normal_space": "tangent",  # +X right, +Y up the image, +Z out of the surface
    "uv_origin": "top_left",  # row 0 of every image is its top edge
    "height": "normalized_white_high",  # displacement = value * height_scale (manifest)
    "ambient_occlusion": "one_is_unoccluded",
}


def _conventions(normal: str, normal_encoding: str, base_color: str, **extra: str) -> dict:
    return {**_COMMON, "normal_convention": normal, "normal_encoding": normal_encoding,
            "base_color_color_space": base_color, **extra}


PROFILES: dict[str, ExportProfile] = {
    profile.name: profile
    for profile in (
        ExportProfile("unreal", "Unreal Engine 5: BaseColor, DirectX normal, ORM, 16-bit height", "directx",
                      _conventions("directx", "unorm", "srgb", orm=packing.ORM_PACKING), _unreal),
        ExportProfile("godot", "Godot 4: albedo, OpenGL normal, ORM for ORMMaterial3D, float EXR height", "opengl",
                      _conventions("opengl", "unorm", "srgb", orm=packing.ORM_PACKING), _godot),
        ExportProfile("gltf", "glTF 2.0 metallic-roughness material on a textured quad (+ 16-bit height)", "opengl",
                      _conventions("opengl", "unorm", "srgb", orm=packing.ORM_PACKING), _gltf),
        ExportProfile("unity", "Unity: albedo, OpenGL normal, metallic + smoothness (A), occlusion, height",
                      "opengl", _conventions("opengl", "unorm", "srgb", metallic_smoothness=packing.UNITY_PACKING,
                                             smoothness="one_minus_roughness"), _unity),
        ExportProfile("raw", "every map as a linear float32 EXR", "opengl",
                      _conventions("opengl", "signed", "linear"), _raw),
    )
}
PROFILE_NAMES = tuple(PROFILES)


def get_profile(profile: str | ExportProfile) -> ExportProfile:
    """The profile for a name ("unreal", "godot", "gltf", "unity", "raw"; case-insensitive)."""
    if isinstance(profile, ExportProfile):
        return profile
    if isinstance(profile, str) and profile.strip().lower() in PROFILES:
        return PROFILES[profile.strip().lower()]
    raise ValueError(f"profile must be one of {PROFILE_NAMES}, got {profile!r}")
