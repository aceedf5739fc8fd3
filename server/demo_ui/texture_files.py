"""Read a delivered engine-profile result back into an `intrinsix.pbr.TextureSet`.

The demo page shows what an engine gets, so it does not ask the server for raw maps: it decodes
the very files the profile delivered (PNG, EXR, GLB), guided by their headers (semantic, colour
space, format, normal convention, channel packing) and the manifest (material name, tiling,
height scale). Every profile round-trips: Unreal's DirectX normals and ORM, Godot's EXR height,
glTF's embedded GLB images, Unity's metallic + smoothness, the RAW float EXRs.

    material = decode_result(result.files, result.manifest)
    material.texture_set["roughness"].data   # [H, W, 1] float32 in [0, 1]
    material.sources["roughness"]            # "T_RedBrick_ORM.png, channel G"
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from intrinsix.pbr import TextureMap, TextureSet
from intrinsix.pbr.exr import decode_exr

from .png_read import read_png

_CHANNEL_INDEX = {"R": 0, "G": 1, "B": 2, "A": 3, "Y": 0}
# Packing names (pbr.packing) that carry a map, and how a stored value becomes the map's value.
_SCALAR_MAPS = {"roughness", "metallic", "ambient_occlusion", "height"}
_GLB_MAGIC, _GLB_JSON, _GLB_BIN = 0x46546C67, 0x4E4F534A, 0x004E4942


class DeliveredFile(Protocol):
    """What decode_result needs of a delivered file (intrinsix_client.ResultFile has it)."""

    path: Path
    name: str
    semantic: str  # "base_color", "normal", "orm", "metallic_smoothness", "height", "model", ...
    color_space: str  # "srgb", "linear", "none"
    format: str  # "png8", "png16", "exr_half", "exr_float", "glb", "gltf", "json"
    normal_convention: str | None  # "opengl" / "directx" for normal maps
    packing: str | None  # e.g. "R=ambient_occlusion,G=roughness,B=metallic"


@dataclass(frozen=True)
class DecodedMaterial:
    """A delivered result as a texture set, with where each map was read from."""

    texture_set: TextureSet  # albedo linear, normals OpenGL (TextureSet's canonical form)
    sources: dict[str, str]  # semantic -> "file name, channel X" (display text)


class _Collector:
    """Maps found so far: semantic -> float32 [H, W, C] plus how to build its TextureMap."""

    def __init__(self) -> None:
        self.values: dict[str, np.ndarray] = {}
        self.options: dict[str, dict] = {}
        self.sources: dict[str, str] = {}

    def add(self, semantic: str, values: np.ndarray, source: str, **options) -> None:
        if semantic in self.values:
            return  # the first file that carries a map wins (profiles carry each map once)
        self.values[semantic] = np.ascontiguousarray(values, dtype=np.float32)
        self.options[semantic] = options
        self.sources[semantic] = source


def parse_packing(packing: str, file_name: str) -> dict[str, str]:
    """"R=ambient_occlusion,G=roughness,B=metallic" -> {"R": "ambient_occlusion", ...}."""
    layout = {}
    for part in packing.split(","):
        channel, _, meaning = part.strip().partition("=")
        if channel not in _CHANNEL_INDEX or not meaning:
            raise ValueError(f"{file_name}: cannot read the channel packing {packing!r} (expected e.g. "
                             "'R=ambient_occlusion,G=roughness,B=metallic')")
        layout[channel] = meaning
    return layout


def _unit(pixels: np.ndarray) -> np.ndarray:  # [H, W, C] uint8/uint16 -> float32 in [0, 1]
    return pixels.astype(np.float32) / float(np.iinfo(pixels.dtype).max)


def _normals(vectors: np.ndarray) -> np.ndarray:  # [H, W, 3] -> unit vectors
    """Normalise; a zero vector (possible in a quantised noise map) becomes the flat +Z normal."""
    length = np.linalg.norm(vectors, axis=-1, keepdims=True)
    flat = np.broadcast_to(np.array([0.0, 0.0, 1.0], np.float32), vectors.shape)
    return np.where(length > 1e-6, vectors / np.maximum(length, 1e-6), flat)


def _add_packed(found: _Collector, channels: np.ndarray, layout: dict[str, str], name: str) -> None:
    """Scalar maps out of a packed image `channels` [H, W, C] in [0, 1]."""
    for channel, meaning in layout.items():
        index = _CHANNEL_INDEX[channel]
        if index >= channels.shape[-1]:
            raise ValueError(f"{name}: packing names channel {channel} but the image has {channels.shape[-1]}")
        plane = channels[..., index:index + 1]
        where = f"{name}, channel {channel}"
        if meaning == "smoothness":
            found.add("roughness", 1.0 - plane, f"{where} (1 - smoothness)")
        elif meaning in _SCALAR_MAPS:
            found.add(meaning, plane, where)


def _image_channels(data: bytes, fmt: str, name: str) -> tuple[np.ndarray, list[str]]:
    """([H, W, C] float32, channel letters) of a PNG (values in [0, 1]) or EXR (stored values)."""
    if fmt.startswith("png"):
        pixels = read_png(data)
        letters = ["R", "G", "B", "A"][:pixels.shape[-1]] if pixels.shape[-1] >= 3 else ["Y", "A"][:pixels.shape[-1]]
        return _unit(pixels), letters
    if fmt.startswith("exr"):
        planes = decode_exr(data)
        order = [c for c in ("R", "G", "B", "A", "Y") if c in planes] or sorted(planes)
        return np.stack([planes[c].astype(np.float32) for c in order], axis=-1), order
    raise ValueError(f"{name}: cannot read an image in format {fmt!r}")


def _add_image(found: _Collector, f: DeliveredFile, data: bytes) -> None:
    values, letters = _image_channels(data, f.format, f.name)
    semantic = f.semantic
    if semantic == "base_color":
        found.add("albedo", values[..., :3], f.name, color_space="srgb" if f.color_space == "srgb" else "linear")
    elif semantic == "normal":
        vectors = values[..., :3] if f.format.startswith("exr") else values[..., :3] * 2.0 - 1.0
        found.add("normal", _normals(vectors), f.name, normal_convention=f.normal_convention or "opengl")
    elif semantic in ("orm", "metallic_smoothness", "material") or (f.packing and semantic in _SCALAR_MAPS):
        packing = f.packing or "R=roughness,G=metallic"  # the generator's material image
        layout = parse_packing(packing, f.name)
        if f.format.startswith("exr"):  # EXR channels are named: re-index by name
            layout = {c: m for c, m in layout.items() if c in letters}
            values = np.stack([values[..., letters.index(c)] for c in layout], axis=-1)
            layout = dict(zip(["R", "G", "B", "A"], layout.values()))
        _add_packed(found, values, layout, f.name)
    elif semantic in _SCALAR_MAPS:
        found.add(semantic, values[..., :1], f.name)


def read_glb(data: bytes, name: str) -> tuple[dict, bytes]:
    """(JSON document, binary chunk) of a GLB file (glTF 2.0 binary container)."""
    if len(data) < 20:
        raise ValueError(f"{name}: too short for a GLB file ({len(data)} bytes)")
    magic, version, total = struct.unpack("<III", data[:12])
    if magic != _GLB_MAGIC or version != 2 or total != len(data):
        raise ValueError(f"{name}: not a glTF 2.0 binary file (magic {magic:#x}, version {version}, "
                         f"length {total} for {len(data)} bytes)")
    document, binary, position = None, b"", 12
    while position + 8 <= len(data):
        length, kind = struct.unpack("<II", data[position:position + 8])
        payload = data[position + 8:position + 8 + length]
        if kind == _GLB_JSON:
            document = json.loads(payload.decode("utf-8"))
        elif kind == _GLB_BIN:
            binary = payload
        position += 8 + length
    if document is None:
        raise ValueError(f"{name}: GLB file without a JSON chunk")
    return document, binary


def _add_glb(found: _Collector, f: DeliveredFile, data: bytes) -> None:
    """The embedded images of the GLB's first material, by their glTF roles (glTF 2.0 spec)."""
    document, binary = read_glb(data, f.name)
    material = (document.get("materials") or [{}])[0]
    pbr = material.get("pbrMetallicRoughness", {})

    def image(texture_info: dict | None) -> tuple[np.ndarray, str] | None:
        if not texture_info:
            return None
        source = document["images"][document["textures"][texture_info["index"]]["source"]]
        view = document["bufferViews"][source["bufferView"]]
        start = view.get("byteOffset", 0)
        values, _ = _image_channels(binary[start:start + view["byteLength"]], "png", f.name)
        return values, f"{f.name}, image {source.get('name', texture_info['index'])}"

    if (found_image := image(pbr.get("baseColorTexture"))) is not None:
        found.add("albedo", found_image[0][..., :3], found_image[1], color_space="srgb")
    if (found_image := image(material.get("normalTexture"))) is not None:
        found.add("normal", _normals(found_image[0][..., :3] * 2.0 - 1.0), found_image[1], normal_convention="opengl")
    if (found_image := image(pbr.get("metallicRoughnessTexture"))) is not None:  # G roughness, B metallic
        _add_packed(found, found_image[0], {"G": "roughness", "B": "metallic"}, found_image[1])
    if (found_image := image(material.get("occlusionTexture"))) is not None:  # R occlusion
        _add_packed(found, found_image[0], {"R": "ambient_occlusion"}, found_image[1])


def decode_result(files: Sequence[DeliveredFile], manifest: dict) -> DecodedMaterial:
    """The texture set that the delivered `files` hold (read from their paths) for an engine.

    manifest: the parsed material.json (material name, tiling, height_scale). Raises ValueError
    if a required map (albedo, roughness, metallic, normal) is in none of the files."""
    found = _Collector()
    for f in files:
        if f.semantic in ("manifest", "preview") or f.format in ("json", "gltf"):
            continue  # a .gltf document only points at PNG files that are delivered (and read) themselves
        data = Path(f.path).read_bytes()
        if f.format == "glb":
            _add_glb(found, f, data)
        else:
            _add_image(found, f, data)
    missing = [s for s in ("albedo", "roughness", "metallic", "normal") if s not in found.values]
    if missing:
        raise ValueError(f"the delivered files {[f.name for f in files]} hold no {missing} map(s)")

    height_scale = (manifest.get("height_scale") or {}).get("texels")
    maps = []
    for semantic, values in found.values.items():
        options = dict(found.options[semantic])
        if semantic == "height":
            if height_scale is None:
                continue  # a height map without its scale cannot be typed; the manifest always has it
            options["height_scale"] = float(height_scale)
        if semantic in ("height", "ambient_occlusion"):
            options["derived"] = True
        maps.append(TextureMap(torch.from_numpy(values), semantic, **options))
    texture_set = TextureSet(maps, name=manifest.get("material", "Material"), tiling=bool(manifest.get("tiling")))
    return DecodedMaterial(texture_set, {s: found.sources[s] for s in texture_set.maps})
