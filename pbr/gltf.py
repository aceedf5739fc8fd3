"""glTF 2.0 material assets: one textured quad carrying a metallic-roughness material.

Written directly (json + struct), either as one binary .glb (geometry and PNG images in the BIN
chunk) or as a .gltf JSON whose small geometry buffer is an embedded base64 data URI and whose
images are the PNG files beside it. glTF conventions used:
- baseColorTexture: sRGB PNG. metallicRoughnessTexture: linear, G = roughness, B = metallic; the
  same image is the occlusionTexture, which reads R = ambient occlusion (the "ORM" layout).
- normalTexture: tangent space, +X right, +Y up (OpenGL); glTF UV (0, 0) is the image's top-left.
- The quad is 1 unit wide (X), height/width units tall (Y), facing +Z, with explicit normals
  (0, 0, 1) and tangents (1, 0, 0, +1) so that image up is bitangent +Y.
"""

from __future__ import annotations

import base64
import json
import struct

import numpy as np

GLTF_ROLES = ("base_color", "orm", "normal")  # the three images, in this image/texture order
# Constants of the glTF specification.
_FLOAT, _UNSIGNED_SHORT = 5126, 5123
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_LINEAR, _LINEAR_MIPMAP_LINEAR = 9729, 9987
_REPEAT, _CLAMP_TO_EDGE = 10497, 33071
_TRIANGLES = 4
_GLB_MAGIC, _GLB_VERSION = 0x46546C67, 2  # "glTF"
_CHUNK_JSON, _CHUNK_BIN = 0x4E4F534A, 0x004E4942  # "JSON", "BIN\0"


def _pad4(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % 4)


def _quad_geometry(resolution: tuple[int, int]) -> list[tuple[str, str, int, np.ndarray]]:
    """(attribute, accessor type, target, array) of the quad; vertices top-left, top-right,
    bottom-right, bottom-left, so UV (0, 0) is the image's top-left corner."""
    rows, cols = resolution
    half_w, half_h = 0.5, 0.5 * rows / cols
    positions = np.array([[-half_w, half_h, 0], [half_w, half_h, 0], [half_w, -half_h, 0], [-half_w, -half_h, 0]],
                         np.float32)
    normals = np.tile(np.array([0, 0, 1], np.float32), (4, 1))
    tangents = np.tile(np.array([1, 0, 0, 1], np.float32), (4, 1))
    uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    indices = np.array([0, 3, 2, 0, 2, 1], np.uint16)  # counter-clockwise seen from +Z
    return [("POSITION", "VEC3", _ARRAY_BUFFER, positions), ("NORMAL", "VEC3", _ARRAY_BUFFER, normals),
            ("TANGENT", "VEC4", _ARRAY_BUFFER, tangents), ("TEXCOORD_0", "VEC2", _ARRAY_BUFFER, uvs),
            ("indices", "SCALAR", _ELEMENT_ARRAY_BUFFER, indices)]


def _document(name: str, resolution: tuple[int, int], tiling: bool,
              embedded_images: dict[str, bytes] | None, image_uris: dict[str, str] | None) -> tuple[dict, bytes]:
    """The glTF JSON (as a dict) and its single binary buffer (geometry, then embedded images)."""
    binary = bytearray()
    buffer_views: list[dict] = []
    accessors: list[dict] = []
    attributes: dict[str, int] = {}
    indices_accessor = -1
    for attribute, kind, target, array in _quad_geometry(resolution):
        offset = len(binary)
        binary += array.tobytes()
        binary += b"\0" * (-len(binary) % 4)
        buffer_views.append({"buffer": 0, "byteOffset": offset, "byteLength": array.nbytes, "target": target})
        accessor = {"bufferView": len(buffer_views) - 1, "componentType": _FLOAT if array.dtype == np.float32
                    else _UNSIGNED_SHORT, "count": int(array.shape[0]), "type": kind}
        if attribute == "POSITION":  # bounds are required for positions
            accessor["min"] = [float(v) for v in array.min(axis=0)]
            accessor["max"] = [float(v) for v in array.max(axis=0)]
        accessors.append(accessor)
        if attribute == "indices":
            indices_accessor = len(accessors) - 1
        else:
            attributes[attribute] = len(accessors) - 1

    images = []
    for role in GLTF_ROLES:
        if embedded_images is not None:
            offset = len(binary)
            binary += embedded_images[role]
            buffer_views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(embedded_images[role])})
            binary += b"\0" * (-len(binary) % 4)
            images.append({"name": f"{name}_{role}", "bufferView": len(buffer_views) - 1, "mimeType": "image/png"})
        else:
            images.append({"name": f"{name}_{role}", "uri": image_uris[role]})

    wrap = _REPEAT if tiling else _CLAMP_TO_EDGE
    texture = {role: index for index, role in enumerate(GLTF_ROLES)}
    document = {
        "asset": {"version": "2.0", "generator": "IntrinsiX intrinsix.pbr"},
        "scene": 0,
        "scenes": [{"name": name, "nodes": [0]}],
        "nodes": [{"name": name, "mesh": 0}],
        "meshes": [{"name": name, "primitives": [
            {"attributes": attributes, "indices": indices_accessor, "material": 0, "mode": _TRIANGLES}]}],
        "materials": [{
            "name": name,
            "pbrMetallicRoughness": {
                "baseColorTexture": {"index": texture["base_color"], "texCoord": 0},
                "metallicRoughnessTexture": {"index": texture["orm"], "texCoord": 0},
                "baseColorFactor": [1.0, 1.0, 1.0, 1.0],
                "metallicFactor": 1.0,
                "roughnessFactor": 1.0,
            },
            "normalTexture": {"index": texture["normal"], "texCoord": 0, "scale": 1.0},
            "occlusionTexture": {"index": texture["orm"], "texCoord": 0, "strength": 1.0},
            "doubleSided": False,
        }],
        "samplers": [{"magFilter": _LINEAR, "minFilter": _LINEAR_MIPMAP_LINEAR, "wrapS": wrap, "wrapT": wrap}],
        "textures": [{"sampler": 0, "source": index} for index in range(len(GLTF_ROLES))],
        "images": images,
        "accessors": accessors,
        "bufferViews": buffer_views,
        "buffers": [{"byteLength": len(binary)}],
    }
    return document, bytes(binary)


def _check_roles(mapping: dict, label: str) -> None:
    if not isinstance(mapping, dict) or set(mapping) != set(GLTF_ROLES):
        got = sorted(mapping) if isinstance(mapping, dict) else type(mapping).__name__
        raise ValueError(f"{label} must map exactly the roles {GLTF_ROLES}, got {got}")


def build_glb(name: str, images: dict[str, bytes], resolution: tuple[int, int], tiling: bool) -> bytes:
    """A self-contained .glb: the quad and its material with the three PNG images embedded.

    name: material name (already checked). images: role -> PNG bytes for GLTF_ROLES.
    resolution: (height, width) of the maps, giving the quad's aspect ratio.
    tiling: REPEAT wrapping if True, else CLAMP_TO_EDGE.
    """
    _check_roles(images, "images")
    document, binary = _document(name, resolution, tiling, embedded_images=images, image_uris=None)
    json_chunk = _pad4(json.dumps(document, separators=(",", ":")).encode("utf-8"), b" ")
    bin_chunk = _pad4(binary, b"\0")
    total = 12 + 8 + len(json_chunk) + 8 + len(bin_chunk)
    return (struct.pack("<III", _GLB_MAGIC, _GLB_VERSION, total)
            + struct.pack("<II", len(json_chunk), _CHUNK_JSON) + json_chunk
            + struct.pack("<II", len(bin_chunk), _CHUNK_BIN) + bin_chunk)


def build_gltf(name: str, image_uris: dict[str, str], resolution: tuple[int, int], tiling: bool) -> bytes:
    """A .gltf JSON file: geometry embedded as a base64 data URI, images referenced by file name.

    image_uris: role -> plain file name of the PNG written next to the .gltf (files.check_file_name
    names need no URI escaping). Other arguments as in build_glb.
    """
    _check_roles(image_uris, "image_uris")
    document, binary = _document(name, resolution, tiling, embedded_images=None, image_uris=image_uris)
    document["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(binary).decode("ascii")
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")
