"""A textured glTF 2.0 binary (.glb) of the whole room: one node, mesh and material per object.

Each object keeps its file's vertices and node matrix (so positions are not re-transformed) and
its texture coordinates: float32 TEXCOORD_0 bytes are written exactly as read for "top_left" UVs
(glTF's own origin); "bottom_left" (OBJ) UVs are written as (u, 1 - v), the glTF origin, with the
images flipped to match (the caller passes images with their top row first for glTF UVs).
Per object: POSITION (with min/max), NORMAL (unit), TANGENT (unit xyz, w = +-1; the frame the
normal map was optimised in, geometry.tangent_frames), TEXCOORD_0, uint32 indices; material in the
glTF metallic-roughness model exactly as `intrinsix.pbr.gltf` writes one (baseColor sRGB,
ORM image shared by occlusion (R) and metallicRoughness (G, B), OpenGL tangent-space normals);
REPEAT sampling, as the texturer rendered them.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np

_FLOAT, _UNSIGNED_INT = 5126, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_LINEAR, _LINEAR_MIPMAP_LINEAR, _REPEAT = 9729, 9987, 10497
_TRIANGLES = 4
_GLB_MAGIC, _GLB_VERSION = 0x46546C67, 2
_CHUNK_JSON, _CHUNK_BIN = 0x4E4F534A, 0x004E4942
IMAGE_ROLES = ("base_color", "orm", "normal")


@dataclass(frozen=True)
class GlbObject:
    """One object of the room file.

    positions [V, 3] float32 object space; normals [V, 3] float32 unit; tangents [V, 4] float32;
    texcoords [V, 2] float32 in glTF convention (origin top left); triangles [F, 3] integer;
    transform [4, 4] node matrix (identity: none written); images: role -> PNG bytes.
    """

    name: str
    positions: np.ndarray
    normals: np.ndarray
    tangents: np.ndarray
    texcoords: np.ndarray
    triangles: np.ndarray
    transform: np.ndarray
    images: dict


class _Buffer:
    def __init__(self):
        self.data = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def view(self, payload: bytes, target: int | None = None) -> int:
        offset = len(self.data)
        self.data += payload
        self.data += b"\0" * (-len(self.data) % 4)
        entry = {"buffer": 0, "byteOffset": offset, "byteLength": len(payload)}
        if target is not None:
            entry["target"] = target
        self.views.append(entry)
        return len(self.views) - 1

    def accessor(self, array: np.ndarray, kind: str, component: int, target: int, bounds: bool = False) -> int:
        entry = {"bufferView": self.view(array.tobytes(), target), "componentType": component,
                 "count": int(array.shape[0]), "type": kind}
        if bounds:
            entry["min"] = [float(v) for v in array.min(axis=0)]
            entry["max"] = [float(v) for v in array.max(axis=0)]
        self.accessors.append(entry)
        return len(self.accessors) - 1


def build_room_glb(objects: list[GlbObject], generator: str = "IntrinsiX intrinsix.texturing") -> bytes:
    """The .glb bytes of the room (module docstring)."""
    if not objects:
        raise ValueError("a room .glb needs at least one object")
    buffer = _Buffer()
    nodes, meshes, materials, textures, images = [], [], [], [], []
    for k, obj in enumerate(objects):
        if set(obj.images) != set(IMAGE_ROLES):
            raise ValueError(f"object {obj.name!r}: images must map exactly the roles {IMAGE_ROLES}, "
                             f"got {sorted(obj.images)}")
        attributes = {
            "POSITION": buffer.accessor(np.ascontiguousarray(obj.positions, "<f4"), "VEC3", _FLOAT, _ARRAY_BUFFER,
                                        bounds=True),
            "NORMAL": buffer.accessor(np.ascontiguousarray(obj.normals, "<f4"), "VEC3", _FLOAT, _ARRAY_BUFFER),
            "TANGENT": buffer.accessor(np.ascontiguousarray(obj.tangents, "<f4"), "VEC4", _FLOAT, _ARRAY_BUFFER),
            "TEXCOORD_0": buffer.accessor(np.ascontiguousarray(obj.texcoords, "<f4"), "VEC2", _FLOAT, _ARRAY_BUFFER),
        }
        indices = buffer.accessor(np.ascontiguousarray(obj.triangles, "<u4").reshape(-1), "SCALAR", _UNSIGNED_INT,
                                  _ELEMENT_ARRAY_BUFFER)
        first_texture = len(textures)
        for role in IMAGE_ROLES:
            images.append({"name": f"{obj.name}_{role}", "bufferView": buffer.view(obj.images[role]),
                           "mimeType": "image/png"})
            textures.append({"sampler": 0, "source": len(images) - 1})
        texture = {role: first_texture + i for i, role in enumerate(IMAGE_ROLES)}
        materials.append({
            "name": obj.name,
            "pbrMetallicRoughness": {
                "baseColorTexture": {"index": texture["base_color"], "texCoord": 0},
                "metallicRoughnessTexture": {"index": texture["orm"], "texCoord": 0},
                "baseColorFactor": [1.0, 1.0, 1.0, 1.0], "metallicFactor": 1.0, "roughnessFactor": 1.0,
            },
            "normalTexture": {"index": texture["normal"], "texCoord": 0, "scale": 1.0},
            "occlusionTexture": {"index": texture["orm"], "texCoord": 0, "strength": 1.0},
            "doubleSided": False,
        })
        meshes.append({"name": obj.name, "primitives": [
            {"attributes": attributes, "indices": indices, "material": k, "mode": _TRIANGLES}]})
        node = {"name": obj.name, "mesh": k}
        transform = np.asarray(obj.transform, dtype=np.float64)
        if not np.array_equal(transform, np.eye(4)):
            node["matrix"] = [float(v) for v in transform.T.reshape(-1)]  # column-major
        nodes.append(node)
    document = {
        "asset": {"version": "2.0", "generator": generator},
        "scene": 0,
        "scenes": [{"name": "Room", "nodes": list(range(len(nodes)))}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "samplers": [{"magFilter": _LINEAR, "minFilter": _LINEAR_MIPMAP_LINEAR, "wrapS": _REPEAT, "wrapT": _REPEAT}],
        "textures": textures,
        "images": images,
        "accessors": buffer.accessors,
        "bufferViews": buffer.views,
        "buffers": [{"byteLength": len(buffer.data)}],
    }
    json_chunk = json.dumps(document, separators=(",", ":")).encode("utf-8")
    json_chunk += b" " * (-len(json_chunk) % 4)
    bin_chunk = bytes(buffer.data) + b"\0" * (-len(buffer.data) % 4)
    total = 12 + 8 + len(json_chunk) + 8 + len(bin_chunk)
    return (struct.pack("<III", _GLB_MAGIC, _GLB_VERSION, total)
            + struct.pack("<II", len(json_chunk), _CHUNK_JSON) + json_chunk
            + struct.pack("<II", len(bin_chunk), _CHUNK_BIN) + bin_chunk)
