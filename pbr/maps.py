"""Typed texture maps and the texture set that groups them.

A `TextureMap` is one image with its meaning attached: semantic, colour space, value range, normal
convention, tiling and whether it was derived from other maps. A `TextureSet` is one material: the
four maps the generator makes (albedo, roughness, metallic, normal) plus optional height and ambient
occlusion. Inside a set, albedo is always linear and normals always OpenGL tangent space; engine
conventions (sRGB encoding, DirectX Y flip, channel packing) are applied only at export.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
import torch

from .colorspace import srgb_to_linear
from .names import check_material_name
from .normals import check_convention, convert_convention, normalize_normals

# Semantic -> (channels, value range). Height is normalised to [0, 1] (its scale is kept apart).
MAP_LAYOUT: dict[str, tuple[int, tuple[float, float]]] = {
    "albedo": (3, (0.0, 1.0)),
    "roughness": (1, (0.0, 1.0)),
    "metallic": (1, (0.0, 1.0)),
    "normal": (3, (-1.0, 1.0)),
    "height": (1, (0.0, 1.0)),
    "ambient_occlusion": (1, (0.0, 1.0)),
}
MAP_SEMANTICS = tuple(MAP_LAYOUT)
REQUIRED_SEMANTICS = ("albedo", "roughness", "metallic", "normal")
MAP_COLOR_SPACES = ("linear", "srgb")

# Values this far outside the range are float noise (e.g. a VAE decode) and are clamped; anything
# further out is an error.
RANGE_TOLERANCE = 1e-3
# Normal vectors must be unit length to this tolerance before they are renormalised.
UNIT_TOLERANCE = 1e-2
MAX_RESOLUTION = 16384


def _as_float_tensor(data, name: str) -> torch.Tensor:
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(np.ascontiguousarray(data))
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array [H, W, C], got {type(data).__name__}")
    if not data.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor with values in the map's range, got dtype "
                        f"{data.dtype} (divide 8-bit images by 255 first)")
    return data.detach().to(torch.float32).contiguous()


@dataclass(frozen=True, eq=False)
class TextureMap:
    """One map of a material.

    data: float32 tensor [H, W, C], C from MAP_LAYOUT (3 for albedo and normal, else 1).
    semantic: one of MAP_SEMANTICS.
    color_space: "linear", or "srgb" (albedo only: values are sRGB-encoded).
    value_range: (low, high) of the values: (0, 1), or (-1, 1) for normals (unit vectors).
    normal_convention: "opengl" or "directx" for normal maps, None otherwise.
    tiling: True if the map tiles seamlessly (its left/right and top/bottom edges meet).
    derived: True if computed from other maps (height from normals, AO from height).
    height_scale: height maps only: displacement, in texel widths, between value 0 and value 1.

    Construction validates everything (shape, channels, dtype, NaN/inf, range, unit normals) and
    raises ValueError/TypeError naming the map, the bad value and the allowed one. Values within
    1e-3 of the range are clamped into it; normals are renormalised.
    """

    data: torch.Tensor  # [H, W, C] float32
    semantic: str
    color_space: str = "linear"
    value_range: tuple[float, float] | None = None  # None: the semantic's range from MAP_LAYOUT
    normal_convention: str | None = None
    tiling: bool = False
    derived: bool = False
    height_scale: float | None = None

    def __post_init__(self) -> None:
        if self.semantic not in MAP_LAYOUT:
            raise ValueError(f"semantic must be one of {MAP_SEMANTICS}, got {self.semantic!r}")
        channels, default_range = MAP_LAYOUT[self.semantic]
        label = f"{self.semantic} map"
        data = _as_float_tensor(self.data, label)
        if data.dim() != 3 or data.shape[-1] != channels:
            raise ValueError(f"{label} must have shape [H, W, {channels}], got {tuple(data.shape)}")
        height, width = data.shape[:2]
        if not (1 <= height <= MAX_RESOLUTION and 1 <= width <= MAX_RESOLUTION):
            raise ValueError(f"{label} resolution must be in [1, {MAX_RESOLUTION}] per side, got {height}x{width}")
        finite = torch.isfinite(data)
        if not bool(finite.all()):
            raise ValueError(f"{label} contains {int((~finite).sum())} NaN or infinite values")

        value_range = default_range if self.value_range is None else tuple(float(v) for v in self.value_range)
        if value_range != default_range:
            raise ValueError(f"{label} value_range must be {default_range}, got {value_range}")
        if self.color_space not in MAP_COLOR_SPACES:
            raise ValueError(f"{label} color_space must be one of {MAP_COLOR_SPACES}, got {self.color_space!r}")
        if self.color_space == "srgb" and self.semantic != "albedo":
            raise ValueError(f"{label} must be linear: only albedo may be sRGB-encoded, got color_space 'srgb'")

        lo, hi = value_range
        low, high = float(data.min()), float(data.max())
        if low < lo - RANGE_TOLERANCE or high > hi + RANGE_TOLERANCE:
            raise ValueError(f"{label} values must lie in [{lo}, {hi}], got values in [{low:.6g}, {high:.6g}]")
        data = data.clamp(lo, hi)

        if self.semantic == "normal":
            if self.normal_convention is None:
                raise ValueError(f"{label} needs normal_convention, one of ('opengl', 'directx')")
            check_convention(self.normal_convention, f"{label} normal_convention")
            length = data.norm(dim=-1)
            worst = float((length - 1.0).abs().max())
            if worst > UNIT_TOLERANCE:
                raise ValueError(f"{label} must hold unit vectors (|length - 1| <= {UNIT_TOLERANCE}), got lengths "
                                 f"in [{float(length.min()):.4g}, {float(length.max()):.4g}]; decode 8-bit "
                                 "normal images with normals.decode_normals first")
            data = normalize_normals(data)
        elif self.normal_convention is not None:
            raise ValueError(f"{label} must have normal_convention None, got {self.normal_convention!r}")

        if self.semantic == "height":
            if self.height_scale is None or not math.isfinite(self.height_scale) or self.height_scale < 0:
                raise ValueError(f"{label} needs height_scale >= 0 (texel widths of displacement for values "
                                 f"0 -> 1), got {self.height_scale!r}")
            object.__setattr__(self, "height_scale", float(self.height_scale))
        elif self.height_scale is not None:
            raise ValueError(f"{label} must have height_scale None, got {self.height_scale!r}")

        object.__setattr__(self, "data", data)
        object.__setattr__(self, "value_range", value_range)
        object.__setattr__(self, "tiling", bool(self.tiling))
        object.__setattr__(self, "derived", bool(self.derived))

    @property
    def resolution(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return int(self.data.shape[0]), int(self.data.shape[1])

    @property
    def channels(self) -> int:
        return int(self.data.shape[-1])

    def to_linear(self) -> TextureMap:
        """The same map with sRGB-encoded values decoded to linear (unchanged if already linear)."""
        if self.color_space == "linear":
            return self
        return replace(self, data=srgb_to_linear(self.data), color_space="linear")

    def with_convention(self, convention: str) -> TextureMap:
        """A normal map in `convention` ("opengl" or "directx"): Y flipped if it differs."""
        if self.semantic != "normal":
            raise ValueError(f"with_convention applies to normal maps, not to a {self.semantic} map")
        check_convention(convention)
        data = convert_convention(self.data, self.normal_convention, convention)
        return replace(self, data=data, normal_convention=convention)

    def numpy(self) -> np.ndarray:  # [H, W, C] float32
        return self.data.cpu().numpy()


class TextureSet:
    """One material: typed maps of one resolution, albedo linear, normals OpenGL tangent space.

    maps: TextureMap objects (an iterable, or a mapping semantic -> map), one per semantic;
          albedo, roughness, metallic and normal are required; height and ambient_occlusion are
          optional (`with_derived` computes them). sRGB albedo is decoded to linear and DirectX
          normals are flipped to OpenGL on the way in.
    name: material name, a safe identifier (names.check_material_name); used for file names.
    tiling: True if the material tiles seamlessly; every map takes this flag.
    """

    def __init__(self, maps: Iterable[TextureMap] | Mapping[str, TextureMap], *, name: str = "Material",
                 tiling: bool = False) -> None:
        self.name = check_material_name(name)
        self.tiling = bool(tiling)
        items = list(maps.values()) if isinstance(maps, Mapping) else list(maps)
        if isinstance(maps, Mapping):
            for key, texture_map in maps.items():
                if isinstance(texture_map, TextureMap) and key != texture_map.semantic:
                    raise ValueError(f"maps[{key!r}] holds a {texture_map.semantic} map; keys must equal semantics")
        by_semantic: dict[str, TextureMap] = {}
        for texture_map in items:
            if not isinstance(texture_map, TextureMap):
                raise TypeError(f"maps must be TextureMap objects, got {type(texture_map).__name__}")
            if texture_map.semantic in by_semantic:
                raise ValueError(f"two {texture_map.semantic} maps given; a texture set holds one per semantic")
            if texture_map.semantic == "albedo":
                texture_map = texture_map.to_linear()
            if texture_map.semantic == "normal":
                texture_map = texture_map.with_convention("opengl")
            if texture_map.tiling != self.tiling:
                texture_map = replace(texture_map, tiling=self.tiling)
            by_semantic[texture_map.semantic] = texture_map
        missing = [s for s in REQUIRED_SEMANTICS if s not in by_semantic]
        if missing:
            raise ValueError(f"texture set is missing the {missing} map(s); required: {list(REQUIRED_SEMANTICS)}")
        resolutions = {s: m.resolution for s, m in by_semantic.items()}
        if len(set(resolutions.values())) != 1:
            raise ValueError(f"all maps must have one resolution, got {resolutions}")
        devices = {s: str(m.data.device) for s, m in by_semantic.items()}
        if len(set(devices.values())) != 1:
            raise ValueError(f"all maps must be on one device, got {devices}")
        ordered = {s: by_semantic[s] for s in MAP_SEMANTICS if s in by_semantic}
        self._maps = MappingProxyType(ordered)

    @classmethod
    def from_generator(
        cls,
        albedo,  # [H, W, 3] float in [0, 1], LINEAR
        material,  # [H, W, 3] float in [0, 1]: R roughness, G metallic, B unused
        normal,  # [H, W, 3] unit vectors, camera space = OpenGL tangent space
        *,
        name: str = "Material",
        tiling: bool = False,
    ) -> TextureSet:
        """A texture set from the three decoded generator branches (torch tensors or numpy arrays).

        The generator looks straight at a flat material, so its camera-space normals (+x right,
        +y up, +z toward the viewer) are the material's tangent-space normals, OpenGL convention.
        """
        material = _as_float_tensor(material, "material")
        if material.dim() != 3 or material.shape[-1] != 3:
            raise ValueError(f"material must have shape [H, W, 3] (R roughness, G metallic, B unused), "
                             f"got {tuple(material.shape)}")
        maps = [
            TextureMap(albedo, "albedo", color_space="linear"),
            TextureMap(material[..., 0:1], "roughness"),
            TextureMap(material[..., 1:2], "metallic"),
            TextureMap(normal, "normal", normal_convention="opengl"),
        ]
        return cls(maps, name=name, tiling=tiling)

    # Access -------------------------------------------------------------------------------------
    def __getitem__(self, semantic: str) -> TextureMap:
        try:
            return self._maps[semantic]
        except KeyError:
            raise KeyError(f"texture set {self.name!r} has no {semantic!r} map (has {list(self._maps)})") from None

    def __contains__(self, semantic: object) -> bool:
        return semantic in self._maps

    @property
    def maps(self) -> Mapping[str, TextureMap]:
        """semantic -> TextureMap, read-only, in MAP_SEMANTICS order."""
        return self._maps

    @property
    def resolution(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self._maps["albedo"].resolution

    @property
    def device(self) -> torch.device:
        return self._maps["albedo"].data.device

    def __repr__(self) -> str:
        h, w = self.resolution
        return f"TextureSet(name={self.name!r}, {h}x{w}, maps={list(self._maps)}, tiling={self.tiling})"

    # New sets -----------------------------------------------------------------------------------
    def with_maps(self, *maps: TextureMap) -> TextureSet:
        """A new set with `maps` added or replacing the maps of the same semantic."""
        merged = dict(self._maps)
        for texture_map in maps:
            if not isinstance(texture_map, TextureMap):
                raise TypeError(f"with_maps takes TextureMap objects, got {type(texture_map).__name__}")
            merged[texture_map.semantic] = texture_map
        return TextureSet(merged, name=self.name, tiling=self.tiling)

    def renamed(self, name: str) -> TextureSet:
        return TextureSet(self._maps, name=name, tiling=self.tiling)

    def with_derived(self, *, height: bool = True, ambient_occlusion: bool = True,
                     ao_radius: int | None = None) -> TextureSet:
        """A new set with the missing derived maps computed (existing maps are kept as they are).

        height: integrated from the normal map (derived.height_from_normals).
        ambient_occlusion: from the height map (derived.ambient_occlusion_from_height); needs a
        height map, which is then computed too. ao_radius: AO search radius in texels (None: auto).
        """
        from .derived import ambient_occlusion_from_height, height_from_normals

        result = self
        if (height or ambient_occlusion) and "height" not in result:
            height01, scale = height_from_normals(result["normal"].data, tiling=self.tiling)
            result = result.with_maps(TextureMap(height01, "height", derived=True, height_scale=scale))
        if ambient_occlusion and "ambient_occlusion" not in result:
            height_map = result["height"]
            ao = ambient_occlusion_from_height(height_map.data, height_map.height_scale, tiling=self.tiling,
                                               radius=ao_radius)
            result = result.with_maps(TextureMap(ao, "ambient_occlusion", derived=True))
        return result
