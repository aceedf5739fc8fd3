"""Meshes of the synthetic rooms: textured quads (floor, ceiling, walls, box faces) and spheres,
with per-vertex normals, UVs and tangents.

World space is metres, +y up (the `kernels.meshes` conventions). UVs are in texture tiles: a
material covers `tile` metres, and 'repeat' wrapping tiles it over the surface. Tangent frames
follow the material maps: +u = tangent (right in the texture), +v = bitangent (up in the texture).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from intrinsix.kernels import meshes


@dataclass
class Mesh:
    """Triangles with per-vertex attributes and a part index per triangle."""

    pos: torch.Tensor  # [V, 3] float32 world position, metres
    normal: torch.Tensor  # [V, 3] float32 unit normal (outward for objects, into the room for the shell)
    uv: torch.Tensor  # [V, 2] float32 texture coordinates, in tiles
    tri: torch.Tensor  # [F, 3] int32 vertex indices
    part: torch.Tensor  # [F] int64 part index (one surface: a wall, a box, a sphere)

    @property
    def num_parts(self) -> int:
        return int(self.part.max()) + 1 if self.part.numel() else 0


def quad(corner, edge_u, edge_v, tile: float, uv_offset=(0.0, 0.0), subdivisions: int = 2) -> Mesh:
    """A planar rectangle corner + s * edge_u + t * edge_v (s, t in [0, 1]) facing
    normalize(edge_u x edge_v), with u = s |edge_u| / tile, v = t |edge_v| / tile (+ uv_offset)."""
    if tile <= 0:
        raise ValueError(f"tile must be > 0 metres, got {tile}")
    corner, eu, ev = (torch.as_tensor(a, dtype=torch.float32) for a in (corner, edge_u, edge_v))
    base, tri, st = meshes.grid(subdivisions, subdivisions)
    del base
    pos = corner + st[:, :1] * eu + st[:, 1:] * ev
    n = torch.linalg.cross(eu, ev)
    normal = (n / n.norm()).expand(pos.shape[0], 3).contiguous()
    uv = st * torch.tensor([float(eu.norm()), float(ev.norm())]) / tile + torch.as_tensor(uv_offset)
    return Mesh(pos, normal, uv.float(), tri, torch.zeros(tri.shape[0], dtype=torch.int64))


def concat(parts: list[Mesh]) -> Mesh:
    """One mesh of several; part indices are renumbered in order (part k of the result = parts[k]
    when each input is a single part)."""
    pos, normal, uv, tri, part = [], [], [], [], []
    offset = part_offset = 0
    for m in parts:
        pos.append(m.pos)
        normal.append(m.normal)
        uv.append(m.uv)
        tri.append(m.tri.long() + offset)
        part.append(m.part + part_offset)
        offset += m.pos.shape[0]
        part_offset += m.num_parts
    return Mesh(torch.cat(pos), torch.cat(normal), torch.cat(uv), torch.cat(tri).to(torch.int32), torch.cat(part))


def _single_part(pieces: list[Mesh]) -> Mesh:
    m = concat(pieces)
    m.part = torch.zeros_like(m.part)
    return m


def room_shell(width: float, height: float, depth: float, tiles: dict[str, float], uv_offsets: dict[str, tuple]) \
        -> dict[str, Mesh]:
    """Floor, ceiling and four walls of a room spanning x in [-w/2, w/2], y in [0, h],
    z in [-d/2, d/2], all facing inward. `tiles` / `uv_offsets` are per role ("floor", "ceiling",
    "wall_back", "wall_front", "wall_left", "wall_right")."""
    w, h, d = width / 2.0, height, depth / 2.0
    spec = {
        "floor": ((-w, 0, d), (2 * w, 0, 0), (0, 0, -2 * d)),
        "ceiling": ((-w, h, -d), (2 * w, 0, 0), (0, 0, 2 * d)),
        "wall_back": ((-w, 0, -d), (2 * w, 0, 0), (0, h, 0)),
        "wall_front": ((w, 0, d), (-2 * w, 0, 0), (0, h, 0)),
        "wall_left": ((-w, 0, d), (0, 0, -2 * d), (0, h, 0)),
        "wall_right": ((w, 0, -d), (0, 0, 2 * d), (0, h, 0)),
    }
    return {role: quad(c, eu, ev, tiles[role], uv_offsets.get(role, (0.0, 0.0))) for role, (c, eu, ev) in spec.items()}


def box(center, half, tile: float, uv_offset=(0.0, 0.0)) -> Mesh:
    """An axis-aligned box (6 outward faces, one part)."""
    cx, cy, cz = center
    hx, hy, hz = half
    faces = [
        ((cx + hx, cy - hy, cz + hz), (0, 0, -2 * hz), (0, 2 * hy, 0)),  # +x
        ((cx - hx, cy - hy, cz - hz), (0, 0, 2 * hz), (0, 2 * hy, 0)),  # -x
        ((cx - hx, cy - hy, cz + hz), (2 * hx, 0, 0), (0, 2 * hy, 0)),  # +z
        ((cx + hx, cy - hy, cz - hz), (-2 * hx, 0, 0), (0, 2 * hy, 0)),  # -z
        ((cx - hx, cy + hy, cz + hz), (2 * hx, 0, 0), (0, 0, -2 * hz)),  # +y
        ((cx - hx, cy - hy, cz - hz), (2 * hx, 0, 0), (0, 0, 2 * hz)),  # -y
    ]
    return _single_part([quad(c, eu, ev, tile, uv_offset, subdivisions=1) for c, eu, ev in faces])


def sphere(center, radius: float, tile: float, rows: int = 24, cols: int = 48) -> Mesh:
    """A UV sphere; u wraps around an integer number of tiles (no seam), v spans half as many."""
    pos, tri, uv, normal = meshes.uv_sphere(rows, cols, radius)
    around = max(1, round(2.0 * math.pi * radius / tile))
    uv = uv * torch.tensor([float(around), around / 2.0])
    return Mesh(pos + torch.as_tensor(center, dtype=torch.float32), normal, uv, tri,
                torch.zeros(tri.shape[0], dtype=torch.int64))


def tangents(mesh: Mesh) -> torch.Tensor:  # [V, 4] float32: unit tangent xyz, handedness w = +-1
    """Per-vertex tangents from the UV layout: per triangle T = dP/du, B = dP/dv solved from its edges
    and UV deltas, summed over the triangles at each vertex, Gram-Schmidt orthogonalised against
    the vertex normal. w is the handedness: bitangent = w * cross(normal, tangent). Triangles with a
    degenerate UV mapping contribute nothing; a vertex without any gets an arbitrary tangent
    perpendicular to its normal."""
    tri = mesh.tri.long()
    p0, p1, p2 = (mesh.pos[tri[:, k]] for k in range(3))
    t0, t1, t2 = (mesh.uv[tri[:, k]] for k in range(3))
    e1, e2 = p1 - p0, p2 - p0
    d1, d2 = t1 - t0, t2 - t0
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    inv = torch.where(det.abs() > 1e-12, 1.0 / torch.where(det == 0, torch.ones_like(det), det), torch.zeros_like(det))
    tan = (e1 * d2[:, 1:] - e2 * d1[:, 1:]) * inv[:, None]
    bit = (e2 * d1[:, :1] - e1 * d2[:, :1]) * inv[:, None]
    num = mesh.pos.shape[0]
    t_acc = torch.zeros(num, 3).index_add_(0, tri.reshape(-1), tan.repeat_interleave(3, dim=0))
    b_acc = torch.zeros(num, 3).index_add_(0, tri.reshape(-1), bit.repeat_interleave(3, dim=0))
    n = mesh.normal
    t = t_acc - n * (n * t_acc).sum(-1, keepdim=True)
    length = t.norm(dim=-1, keepdim=True)
    # Fallback for vertices without a usable UV gradient (e.g. sphere poles): any perpendicular.
    helper = torch.where(n[:, :1].abs() < 0.9, torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]))
    fallback = torch.linalg.cross(helper.expand_as(n), n)
    fallback = fallback / fallback.norm(dim=-1, keepdim=True)
    t = torch.where(length > 1e-8, t / length.clamp(min=1e-12), fallback)
    w = torch.where((torch.linalg.cross(n, t) * b_acc).sum(-1) < 0.0, -1.0, 1.0)
    return torch.cat([t, w[:, None]], dim=-1).float()
