"""Read the triangle meshes of a glTF 2.0 file (.glb or .gltf) with their accessor bytes intact.

Why not trimesh here: trimesh flips glTF texture coordinates to a bottom-left origin on load
(v' = 1 - v in float32, which does not round-trip bit for bit) and drops TEXCOORD_0 from
primitives without a material. Room texturing promises to keep a file's UVs byte for byte, so the
accessors are read here directly (JSON + binary buffers, per the glTF 2.0 specification):

- every node of the default scene (or of every scene, or every root node when there is none) that
  has a mesh gives one object per triangle primitive (mode 4; strips and fans are converted, points
  and lines skipped), positions in the node's object space plus its world matrix (TRS or matrix,
  composed down the hierarchy);
- POSITION (float32 VEC3), TEXCOORD_0 (float32 VEC2, or normalized unsigned byte/short, converted
  to float), NORMAL (float32 VEC3) and the indices (unsigned byte/short/int, or none);
- buffers from the GLB BIN chunk, base64 data URIs or files beside a .gltf.
Sparse accessors and required compression extensions (Draco, meshopt) are refused with a MeshError.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from .scene import MeshError

_GLB_MAGIC, _CHUNK_JSON, _CHUNK_BIN = 0x46546C67, 0x4E4F534A, 0x004E4942
_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_TRIANGLES, _TRIANGLE_STRIP, _TRIANGLE_FAN = 4, 5, 6


def _split_glb(data: bytes, path: Path) -> tuple[dict, bytes | None]:
    if len(data) < 20:
        raise MeshError(f"{path}: too short to be a .glb file ({len(data)} bytes)")
    magic, version, length = struct.unpack("<III", data[:12])
    if magic != _GLB_MAGIC:
        raise MeshError(f"{path}: not a binary glTF file (no 'glTF' magic); use .gltf for JSON files")
    if version != 2:
        raise MeshError(f"{path}: glTF version {version} is not supported; allowed: 2")
    position, document, binary = 12, None, None
    while position + 8 <= min(length, len(data)):
        chunk_length, chunk_type = struct.unpack("<II", data[position:position + 8])
        chunk = data[position + 8:position + 8 + chunk_length]
        if chunk_type == _CHUNK_JSON and document is None:
            document = json.loads(chunk.decode("utf-8"))
        elif chunk_type == _CHUNK_BIN and binary is None:
            binary = chunk
        position += 8 + chunk_length
    if document is None:
        raise MeshError(f"{path}: the .glb file has no JSON chunk")
    return document, binary


def _load_buffers(document: dict, binary: bytes | None, folder: Path, path: Path) -> list[bytes]:
    buffers = []
    for index, buffer in enumerate(document.get("buffers", [])):
        uri = buffer.get("uri")
        if uri is None:
            if binary is None:
                raise MeshError(f"{path}: buffers[{index}] has no uri and the file has no GLB BIN chunk")
            data = binary
        elif uri.startswith("data:"):
            header, _, payload = uri.partition(",")
            if not header.endswith(";base64"):
                raise MeshError(f"{path}: buffers[{index}] has a data URI that is not base64")
            data = base64.b64decode(payload)
        else:
            file = (folder / unquote(uri)).resolve()
            if not file.is_file():
                raise MeshError(f"{path}: buffers[{index}] refers to {uri!r}, which is not a file next to it")
            data = file.read_bytes()
        if len(data) < buffer.get("byteLength", 0):
            raise MeshError(f"{path}: buffers[{index}] holds {len(data)} bytes, fewer than its byteLength "
                            f"{buffer['byteLength']}")
        buffers.append(data)
    return buffers


class _Accessors:
    def __init__(self, document: dict, buffers: list[bytes], path: Path):
        self.document, self.buffers, self.path = document, buffers, path

    def read(self, index: int, label: str) -> np.ndarray:  # [count, width] in the accessor's own dtype
        try:
            accessor = self.document["accessors"][index]
        except (KeyError, IndexError, TypeError):
            raise MeshError(f"{self.path}: {label} refers to accessor {index}, which does not exist") from None
        if "sparse" in accessor:
            raise MeshError(f"{self.path}: {label} uses a sparse accessor; sparse accessors are not supported")
        dtype = np.dtype(_COMPONENTS[accessor["componentType"]]).newbyteorder("<")
        width = _WIDTH[accessor["type"]]
        count = int(accessor["count"])
        if "bufferView" not in accessor:  # all zeros by the specification
            return np.zeros((count, width), dtype)
        view = self.document["bufferViews"][accessor["bufferView"]]
        data = self.buffers[view["buffer"]]
        start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
        element = dtype.itemsize * width
        stride = view.get("byteStride", 0) or element
        end = start + (count - 1) * stride + element if count else start
        if end > view.get("byteOffset", 0) + view["byteLength"] or end > len(data):
            raise MeshError(f"{self.path}: {label} (accessor {index}) reads past the end of its buffer view")
        if stride == element:
            return np.frombuffer(data, dtype, count * width, start).reshape(count, width).copy()
        rows = np.lib.stride_tricks.as_strided(np.frombuffer(data, np.uint8, end - start, start),
                                               shape=(count, element), strides=(stride, 1))
        return np.ascontiguousarray(rows).view(dtype).reshape(count, width)

    def normalized(self, index: int) -> bool:
        return bool(self.document["accessors"][index].get("normalized", False))


def _node_matrix(node: dict) -> np.ndarray:
    if "matrix" in node:
        return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T  # column-major in glTF
    x, y, z, w = node.get("rotation", [0.0, 0.0, 0.0, 1.0])
    rotation = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * np.asarray(node.get("scale", [1.0, 1.0, 1.0]), dtype=np.float64)
    matrix[:3, 3] = node.get("translation", [0.0, 0.0, 0.0])
    return matrix


def _faces(mode: int, indices: np.ndarray) -> np.ndarray:  # [F, 3] int64
    if mode == _TRIANGLES:
        return indices[: indices.size // 3 * 3].reshape(-1, 3)
    if indices.size < 3:
        return np.zeros((0, 3), np.int64)
    k = np.arange(indices.size - 2)
    if mode == _TRIANGLE_STRIP:  # every other triangle flips to keep the winding
        even = k % 2 == 0
        a, b, c = indices[k], indices[k + 1], indices[k + 2]
        return np.stack([a, np.where(even, b, c), np.where(even, c, b)], axis=1)
    return np.stack([np.full(k.size, indices[0]), indices[k + 1], indices[k + 2]], axis=1)  # fan


def _texcoords(accessors: _Accessors, index: int) -> np.ndarray:
    raw = accessors.read(index, "TEXCOORD_0")
    if raw.shape[1] != 2:
        raise MeshError(f"{accessors.path}: TEXCOORD_0 must be VEC2, got width {raw.shape[1]}")
    if raw.dtype == np.float32:
        return raw  # the file's bytes, untouched
    if raw.dtype in (np.uint8, np.uint16) and accessors.normalized(index):
        return (raw.astype(np.float64) / np.iinfo(raw.dtype).max).astype(np.float32)
    raise MeshError(f"{accessors.path}: TEXCOORD_0 has component type {raw.dtype}; allowed: float32 or normalized "
                    "unsigned byte/short")


def read_gltf(path: str | Path) -> list[dict]:
    """The triangle primitives of a .glb/.gltf file as RoomObject field dicts (see scene.build_scene):
    positions [V, 3] float32 (object space), triangles [F, 3] int64, uvs [V, 2] float32 (TEXCOORD_0
    bytes as stored) or None, normals [V, 3] or None, transform [4, 4] world matrix,
    uv_origin "top_left", source_name "<node or mesh name>[/<primitive>]"."""
    path = Path(path)
    data = path.read_bytes()
    if data[:4] == b"glTF":
        document, binary = _split_glb(data, path)
    else:
        try:
            document, binary = json.loads(data.decode("utf-8")), None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MeshError(f"{path}: neither a .glb file nor glTF JSON ({exc})") from None
    version = str(document.get("asset", {}).get("version", ""))
    if not version.startswith("2."):
        raise MeshError(f"{path}: glTF asset version {version!r} is not supported; allowed: 2.x")
    required = set(document.get("extensionsRequired", []))
    if required:
        raise MeshError(f"{path}: the file requires the extensions {sorted(required)}, which are not supported "
                        "(decompress it first, e.g. with gltf-transform)")
    accessors = _Accessors(document, _load_buffers(document, binary, path.parent, path), path)
    nodes, meshes = document.get("nodes", []), document.get("meshes", [])

    scenes = document.get("scenes", [])
    if "scene" in document:
        roots = scenes[document["scene"]].get("nodes", [])
    elif scenes:
        roots = [n for s in scenes for n in s.get("nodes", [])]
    else:
        children = {c for node in nodes for c in node.get("children", [])}
        roots = [i for i in range(len(nodes)) if i not in children]

    objects: list[dict] = []
    stack = [(index, np.eye(4)) for index in reversed(roots)]
    while stack:
        index, parent = stack.pop()
        node = nodes[index]
        world = parent @ _node_matrix(node)
        stack.extend((child, world) for child in reversed(node.get("children", [])))
        if "mesh" not in node:
            continue
        mesh = meshes[node["mesh"]]
        base = node.get("name") or mesh.get("name") or f"node{index}"
        primitives = mesh.get("primitives", [])
        for p_index, primitive in enumerate(primitives):
            mode = primitive.get("mode", _TRIANGLES)
            if mode not in (_TRIANGLES, _TRIANGLE_STRIP, _TRIANGLE_FAN):
                continue  # points and lines carry no surface to texture
            attributes = primitive.get("attributes", {})
            label = base if len(primitives) == 1 else f"{base}/{p_index}"
            if "POSITION" not in attributes:
                raise MeshError(f"{path}: mesh primitive {label!r} has no POSITION attribute")
            positions = accessors.read(attributes["POSITION"], f"{label} POSITION")
            if positions.shape[1] != 3 or positions.dtype != np.float32:
                raise MeshError(f"{path}: {label} POSITION must be float32 VEC3")
            if "indices" in primitive:
                flat = accessors.read(primitive["indices"], f"{label} indices").reshape(-1).astype(np.int64)
            else:
                flat = np.arange(positions.shape[0], dtype=np.int64)
            normals = None
            if "NORMAL" in attributes:
                normals = accessors.read(attributes["NORMAL"], f"{label} NORMAL")
                if normals.shape != positions.shape or normals.dtype != np.float32:
                    normals = None  # unusable: recomputed from the geometry
            uvs = _texcoords(accessors, attributes["TEXCOORD_0"]) if "TEXCOORD_0" in attributes else None
            objects.append(dict(positions=positions, triangles=_faces(mode, flat), uvs=uvs, normals=normals,
                                transform=world, uv_origin="top_left", source_name=label))
    if not objects:
        raise MeshError(f"{path}: the file holds no triangle meshes (no node with a triangle primitive)")
    return objects
