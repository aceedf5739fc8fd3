"""Texture-set semantics and export: the one place that knows engine conventions.

    from intrinsix.pbr import TextureSet, export, write_export, material_name_from_prompt
    ts = TextureSet.from_generator(albedo, material, normal, name=material_name_from_prompt(prompt))
    write_export(export(ts, "unreal"), "out/")

`relight_preview` needs the compiled kernels (imported when called); nothing else here does.
"""

from .colorspace import linear_to_srgb, srgb_to_linear
from .derived import ambient_occlusion_from_height, height_from_normals
from .export import MANIFEST_NAME, export, write_export
from .files import ExportedFile, ExportResult, check_file_name
from .maps import MAP_SEMANTICS, TextureMap, TextureSet
from .names import check_material_name, material_name_from_prompt
from .normals import convert_convention, decode_normals, encode_normals
from .preview import light_direction, relight_preview
from .profiles import PROFILE_NAMES, PROFILES, ExportOptions, ExportProfile, get_profile

__all__ = [
    "ExportedFile", "ExportResult", "check_file_name",
    "TextureMap", "TextureSet", "MAP_SEMANTICS",
    "linear_to_srgb", "srgb_to_linear",
    "convert_convention", "encode_normals", "decode_normals",
    "height_from_normals", "ambient_occlusion_from_height",
    "check_material_name", "material_name_from_prompt",
    "export", "write_export", "MANIFEST_NAME",
    "PROFILES", "PROFILE_NAMES", "ExportProfile", "ExportOptions", "get_profile",
    "relight_preview", "light_direction",
]
