"""Per-vertex shading frames and the whole room as one vertex/index buffer for the kernels.

Tangent frames follow the tangent-space normal-map convention of `intrinsix.pbr` (OpenGL: +X along
the image's columns, +Y up the image, +Z out of the surface):
  T = dP/du, B = dP/d(image up), where image up is -v for uv_origin "top_left" (v grows down the
  image) and +v for "bottom_left"; both accumulated per vertex over its triangles, T made
  orthogonal to the vertex normal N (Gram-Schmidt), and the handedness w = sign(dot(cross(N, T), B)),
  so that B = w * cross(N, T) as glTF's TANGENT attribute defines it. A normal-map texel (x, y, z)
  is the surface direction x T + y B + z N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .scene import RoomObject, RoomScene, degenerate_triangles, transform_normals


def vertex_normals(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:  # [V, 3] float32 unit
    """Area-weighted vertex normals from the triangles' winding (counter-clockwise = front);
    vertices of no live triangle get +Y."""
    p = positions.astype(np.float64)
    face = np.cross(p[triangles[:, 1]] - p[triangles[:, 0]], p[triangles[:, 2]] - p[triangles[:, 0]])  # 2 x area
    normals = np.zeros_like(p)
    for k in range(3):
        np.add.at(normals, triangles[:, k], face)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    fallback = np.tile([0.0, 1.0, 0.0], (p.shape[0], 1))
    return np.where(length > 1e-20, normals / np.maximum(length, 1e-30), fallback).astype(np.float32)


def tangent_frames(positions: np.ndarray, triangles: np.ndarray, uvs: np.ndarray, normals: np.ndarray,
                   uv_origin: str) -> np.ndarray:  # [V, 4] float32: unit tangent xyz, handedness w = +-1
    """Per-vertex tangents (see the module docstring) for positions [V, 3], uvs [V, 2], normals [V, 3]."""
    p = positions.astype(np.float64)
    uv = uvs.astype(np.float64).copy()
    if uv_origin == "top_left":
        uv[:, 1] = -uv[:, 1]  # image up = decreasing v
    e1 = p[triangles[:, 1]] - p[triangles[:, 0]]
    e2 = p[triangles[:, 2]] - p[triangles[:, 0]]
    d1 = uv[triangles[:, 1]] - uv[triangles[:, 0]]
    d2 = uv[triangles[:, 2]] - uv[triangles[:, 0]]
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    live = np.abs(det) > 1e-20
    inv = np.where(live, 1.0 / np.where(live, det, 1.0), 0.0)[:, None]
    # Solve [e1; e2] = [d1; d2] [T; B] per triangle; weighting by |det| (the UV area) keeps tiny
    # UV triangles from dominating.
    tangent = (e1 * d2[:, 1:2] - e2 * d1[:, 1:2]) * inv * np.abs(det)[:, None]
    bitangent = (e2 * d1[:, 0:1] - e1 * d2[:, 0:1]) * inv * np.abs(det)[:, None]
    t_acc = np.zeros_like(p)
    b_acc = np.zeros_like(p)
    for k in range(3):
        np.add.at(t_acc, triangles[:, k], tangent)
        np.add.at(b_acc, triangles[:, k], bitangent)
    n = normals.astype(np.float64)
    t = t_acc - n * np.sum(n * t_acc, axis=1, keepdims=True)
    length = np.linalg.norm(t, axis=1, keepdims=True)
    # Vertices without a usable UV gradient: any direction perpendicular to N.
    helper = np.where(np.abs(n[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    other = np.cross(n, helper)
    other /= np.maximum(np.linalg.norm(other, axis=1, keepdims=True), 1e-30)
    t = np.where(length > 1e-12, t / np.maximum(length, 1e-30), other)
    w = np.where(np.sum(np.cross(n, t) * b_acc, axis=1) < 0.0, -1.0, 1.0)
    return np.concatenate([t, w[:, None]], axis=1).astype(np.float32)


def object_normals(obj: RoomObject, world: bool) -> np.ndarray:  # [V, 3] float32 unit
    """The file's normals (renormalised) or area-weighted ones from the object-space winding, in
    world or object space. World normals go through the node's normal matrix (as glTF renders a
    mirroring node: its front faces stay front), never recomputed from the world winding."""
    local = None
    if obj.normals is not None:
        n = obj.normals.astype(np.float64)
        length = np.linalg.norm(n, axis=1, keepdims=True)
        if (length > 1e-6).all():
            local = (n / length).astype(np.float32)
    if local is None:
        local = vertex_normals(obj.positions, obj.triangles)
    return transform_normals(obj.transform, local) if world else local


@dataclass
class RoomGeometry:
    """The room as one mesh on a device, for rasterize/interpolate.

    positions: [V, 3] float32 world space.  triangles: [F, 3] int32.
    vertex_attrs: [V, 12] float32 per-vertex attributes interpolated per pixel:
        0:2 uv (as stored), 2:5 normal (unit, world), 5:9 tangent (unit xyz + handedness w, world),
        9:12 position (world; for the view vector).
    face_object: [F] int64 object index of each triangle.
    face_normals: [F, 3] float32 geometric unit normals (world) of the file's front side.
    vertex_offset, face_offset: [K + 1] int64 where object k's vertices / triangles start.
    texture_sizes: side of each object's textures.  uv_origins: per object.
    bounds: [2, 3] float32 world bounding box.
    """

    positions: torch.Tensor
    triangles: torch.Tensor
    vertex_attrs: torch.Tensor
    face_object: torch.Tensor
    face_normals: torch.Tensor
    vertex_offset: np.ndarray
    face_offset: np.ndarray
    texture_sizes: list[int]
    uv_origins: list[str]
    names: list[str]
    live_faces: torch.Tensor  # [F] bool, False for degenerate triangles
    bounds: np.ndarray

    @property
    def device(self) -> torch.device:
        return self.positions.device

    @property
    def num_objects(self) -> int:
        return len(self.names)

    def object_slice(self, k: int) -> tuple[slice, slice]:
        return (slice(int(self.vertex_offset[k]), int(self.vertex_offset[k + 1])),
                slice(int(self.face_offset[k]), int(self.face_offset[k + 1])))


def build_geometry(scene: RoomScene, device: str | torch.device = "cpu") -> RoomGeometry:
    """Concatenate the prepared objects (every object needs uvs and a texture_size)."""
    positions, triangles, attrs, face_object, face_normals, live = [], [], [], [], [], []
    vertex_offset, face_offset = [0], [0]
    for k, obj in enumerate(scene):
        if obj.uvs is None or obj.texture_size is None:
            raise ValueError(f"object {obj.name!r} is not prepared (needs uvs and texture_size: atlas.prepare_scene)")
        world = obj.world_positions
        normals = object_normals(obj, world=True)
        tangents = tangent_frames(world, obj.triangles, obj.uvs, normals, obj.uv_origin)
        p = world.astype(np.float64)
        t = obj.triangles
        cross = np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]])
        face_n = cross / np.maximum(np.linalg.norm(cross, axis=1, keepdims=True), 1e-30)
        if np.linalg.det(obj.transform[:3, :3]) < 0:
            face_n = -face_n  # a mirroring node flips the world winding; the front side stays the file's
        positions.append(world)
        triangles.append(t + vertex_offset[-1])
        attrs.append(np.concatenate([obj.uvs, normals, tangents, world], axis=1))
        face_object.append(np.full(t.shape[0], k, np.int64))
        face_normals.append(face_n.astype(np.float32))
        live.append(~degenerate_triangles(world, t))
        vertex_offset.append(vertex_offset[-1] + world.shape[0])
        face_offset.append(face_offset[-1] + t.shape[0])
    all_positions = np.concatenate(positions)
    return RoomGeometry(
        positions=torch.from_numpy(all_positions).to(device),
        triangles=torch.from_numpy(np.concatenate(triangles).astype(np.int32)).to(device),
        vertex_attrs=torch.from_numpy(np.concatenate(attrs).astype(np.float32)).to(device),
        face_object=torch.from_numpy(np.concatenate(face_object)).to(device),
        face_normals=torch.from_numpy(np.concatenate(face_normals)).to(device),
        vertex_offset=np.asarray(vertex_offset, np.int64), face_offset=np.asarray(face_offset, np.int64),
        texture_sizes=[int(o.texture_size) for o in scene], uv_origins=[o.uv_origin for o in scene],
        names=[o.name for o in scene], live_faces=torch.from_numpy(np.concatenate(live)).to(device),
        bounds=np.stack([all_positions.min(0), all_positions.max(0)]).astype(np.float32))
