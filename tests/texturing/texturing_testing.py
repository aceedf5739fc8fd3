"""Helpers shared by the room-texturing tests (imported by name: tests/texturing is on sys.path
under pytest): a small room of boxes, a stand-in prior, and a minimal glTF writer for inputs."""

from __future__ import annotations

import json
import struct

import numpy as np
import torch

from intrinsix.kernels import meshes
from intrinsix.texturing.scene import scene_from_arrays

BRANCHES = ("albedo", "material", "normal")


def small_room(boxes: int = 2, subdivisions: int = 2):
    """A 4 x 2.5 x 3 m room (shell facing inward) with `boxes` boxes: objects Room, Object1, ..."""
    positions, triangles, objects = meshes.box_room(size=(4.0, 2.5, 3.0), boxes=boxes, subdivisions=subdivisions)
    return scene_from_arrays(positions.numpy(), triangles.numpy(), objects.numpy())


class TargetPrior:
    """A stand-in prior that always "denoises" to fixed target images: latents are the images
    themselves (channels first), and the predicted velocity is the one whose denoised estimate
    x0_hat = x_sigma - sigma * v is the target. Score distillation must then pull the rendered
    maps, hence the textures, toward the targets."""

    device = torch.device("cpu")

    def __init__(self, targets: dict[str, tuple[float, float, float]]):
        self.targets = targets

    def encode(self, images: dict) -> dict:
        return {branch: image.permute(0, 3, 1, 2) for branch, image in images.items()}

    def decode(self, latents: dict) -> dict:
        return {branch: latent.permute(0, 2, 3, 1) for branch, latent in latents.items()}

    def timestep_shift(self, height: int, width: int) -> float:
        return 0.5

    def predict_velocity(self, latents, sigmas, prompts):
        velocity = torch.zeros_like(latents)
        for k, branch in enumerate(BRANCHES):
            if branch in self.targets:
                target = torch.tensor(self.targets[branch], dtype=latents.dtype).view(1, 3, 1, 1)
                sigma = sigmas[:, k].view(-1, 1, 1, 1)
                velocity[:, k] = torch.where(sigma > 0, (latents[:, k] - target) / sigma.clamp_min(1e-6), 0.0)
        return velocity


def write_glb(path, objects: list[dict]) -> None:
    """A minimal .glb (independent of the code under test): per object a node (optional
    'translation'/'scale'), one triangle primitive with POSITION, uint16 indices and, when given,
    float32 TEXCOORD_0 stored from `uvs` exactly."""
    binary = bytearray()
    views, accessors, meshes_json, nodes = [], [], [], []

    def add(array: np.ndarray, kind: str, component: int, bounds: bool = False) -> int:
        offset = len(binary)
        binary.extend(array.tobytes())
        binary.extend(b"\0" * (-len(binary) % 4))
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": array.nbytes})
        accessor = {"bufferView": len(views) - 1, "componentType": component, "count": int(array.shape[0]),
                    "type": kind}
        if bounds:
            accessor["min"] = array.min(0).tolist()
            accessor["max"] = array.max(0).tolist()
        accessors.append(accessor)
        return len(accessors) - 1

    for obj in objects:
        attributes = {"POSITION": add(np.asarray(obj["positions"], "<f4"), "VEC3", 5126, bounds=True)}
        if obj.get("uvs") is not None:
            attributes["TEXCOORD_0"] = add(np.asarray(obj["uvs"], "<f4"), "VEC2", 5126)
        indices = add(np.asarray(obj["triangles"], "<u2").reshape(-1), "SCALAR", 5123)
        meshes_json.append({"primitives": [{"attributes": attributes, "indices": indices}]})
        node = {"name": obj["name"], "mesh": len(meshes_json) - 1}
        for key in ("translation", "scale"):
            if key in obj:
                node[key] = list(obj[key])
        nodes.append(node)
    document = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": list(range(len(nodes)))}],
                "nodes": nodes, "meshes": meshes_json, "accessors": accessors, "bufferViews": views,
                "buffers": [{"byteLength": len(binary)}]}
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    with open(path, "wb") as f:
        f.write(struct.pack("<III", 0x46546C67, 2, total) + struct.pack("<II", len(text), 0x4E4F534A) + text
                + struct.pack("<II", len(binary), 0x004E4942) + bytes(binary))


def read_glb(data: bytes) -> tuple[dict, bytes]:
    """(JSON document, BIN chunk) of a .glb."""
    json_length = struct.unpack("<I", data[12:16])[0]
    document = json.loads(data[20:20 + json_length])
    return document, data[28 + json_length:]


def accessor_bytes(document: dict, binary: bytes, index: int) -> bytes:
    accessor = document["accessors"][index]
    view = document["bufferViews"][accessor["bufferView"]]
    start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
    return binary[start:start + view["byteLength"]]


def cube(size: float = 1.0):
    """24-vertex cube (4 per face, outward), its faces' UVs packed side by side in a 3 x 2 grid."""
    positions, uvs, triangles = [], [], []
    axes = [(0, 1, 2), (0, 1, 2), (1, 2, 0), (1, 2, 0), (2, 0, 1), (2, 0, 1)]
    for face, (a, b, c) in enumerate(axes):
        sign = 1.0 if face % 2 == 0 else -1.0
        base = len(positions)
        for du, dv in ((0, 0), (1, 0), (1, 1), (0, 1)):
            p = [0.0, 0.0, 0.0]
            p[a], p[b], p[c] = (du - 0.5) * size, (dv - 0.5) * size * sign, 0.5 * size * sign
            positions.append(p)
            col, row = face % 3, face // 3
            uvs.append(((col + 0.05 + 0.9 * du) / 3.0, (row + 0.05 + 0.9 * dv) / 2.0))
        triangles += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    return np.array(positions, np.float32), np.array(triangles, np.int64), np.array(uvs, np.float32)
