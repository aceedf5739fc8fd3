"""Cameras and procedural meshes for previews, tests and benchmarks.

Conventions: right-handed camera space looking down -z with +y up (OpenGL), matrices act on column
vectors (clip = projection @ view @ [x, y, z, 1]), triangles counter-clockwise seen from outside.
"""

from __future__ import annotations

import math

import torch


def perspective(fov_x_deg: float = 85.0, aspect: float = 1.0, near: float = 0.05, far: float = 100.0) -> torch.Tensor:
    """OpenGL projection matrix [4, 4] for a horizontal field of view in degrees and aspect = W / H.

    85 degrees is the field of view of the IntrinsiX training data (REFERENCE.md section 4).
    """
    if not 0.0 < fov_x_deg < 180.0:
        raise ValueError(f"fov_x_deg must be in (0, 180), got {fov_x_deg}")
    if not 0.0 < near < far:
        raise ValueError(f"need 0 < near < far, got near={near}, far={far}")
    if aspect <= 0:
        raise ValueError(f"aspect must be > 0, got {aspect}")
    sx = 1.0 / math.tan(math.radians(fov_x_deg) / 2.0)
    sy = sx * aspect
    return torch.tensor(
        [
            [sx, 0.0, 0.0, 0.0],
            [0.0, sy, 0.0, 0.0],
            [0.0, 0.0, -(far + near) / (far - near), -2.0 * far * near / (far - near)],
            [0.0, 0.0, -1.0, 0.0],
        ]
    )


def look_at(eye, target, up=(0.0, 1.0, 0.0)) -> torch.Tensor:
    """View matrix [4, 4] (world -> camera) for a camera at `eye` looking at `target`."""
    eye_t = torch.as_tensor(eye, dtype=torch.float32)
    forward = torch.as_tensor(target, dtype=torch.float32) - eye_t
    if float(forward.norm()) == 0.0:
        raise ValueError("look_at: eye and target are the same point")
    forward = forward / forward.norm()
    right = torch.linalg.cross(forward, torch.as_tensor(up, dtype=torch.float32))
    if float(right.norm()) < 1e-8:
        raise ValueError("look_at: up is parallel to the viewing direction")
    right = right / right.norm()
    true_up = torch.linalg.cross(right, forward)
    view = torch.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = right, true_up, -forward
    view[:3, 3] = -view[:3, :3] @ eye_t
    return view


def grid(rows: int, cols: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A flat grid over [-1, 1]^2 in the z = 0 plane facing +z.

    Returns pos [V, 3], tri [F, 3] int32 (2 * rows * cols triangles), uv [V, 2] in [0, 1].
    """
    if rows < 1 or cols < 1:
        raise ValueError(f"rows and cols must be >= 1, got {rows}, {cols}")
    v, u = torch.meshgrid(torch.linspace(0, 1, rows + 1), torch.linspace(0, 1, cols + 1), indexing="ij")
    uv = torch.stack([u, v], dim=-1).reshape(-1, 2)
    pos = torch.cat([uv * 2.0 - 1.0, torch.zeros(uv.shape[0], 1)], dim=1)
    r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    i00 = (r * (cols + 1) + c).reshape(-1)
    i01, i10 = i00 + 1, i00 + cols + 1
    i11 = i10 + 1
    tri = torch.cat([torch.stack([i00, i01, i11], 1), torch.stack([i00, i11, i10], 1)], 0)
    return pos, tri.to(torch.int32), uv


def displaced_grid(rows: int, cols: int, amplitude: float = 0.1, seed: int = 0):
    """A grid with a smooth random height field in z: many small triangles that overlap in depth
    when seen at an angle (a rasterizer stress test). Returns pos [V, 3], tri [F, 3], uv [V, 2]."""
    pos, tri, uv = grid(rows, cols)
    g = torch.Generator().manual_seed(seed)
    freqs = torch.randint(1, 12, (6, 2), generator=g).float()
    phases = torch.rand(6, generator=g) * 2 * math.pi
    height = sum(torch.sin(math.pi * (f[0] * pos[:, 0] + f[1] * pos[:, 1]) + p) for f, p in zip(freqs, phases))
    pos[:, 2] = amplitude * height / 6.0
    return pos, tri, uv


def uv_sphere(rows: int = 32, cols: int = 64, radius: float = 1.0):
    """Sphere of `radius` centred at the origin. Returns pos [V, 3], tri [F, 3], uv [V, 2],
    normal [V, 3]; the seam column is duplicated so uv is continuous."""
    if rows < 2 or cols < 3:
        raise ValueError(f"uv_sphere needs rows >= 2 and cols >= 3, got {rows}, {cols}")
    v, u = torch.meshgrid(torch.linspace(0, 1, rows + 1), torch.linspace(0, 1, cols + 1), indexing="ij")
    theta, phi = v * math.pi, u * 2 * math.pi
    normal = torch.stack([torch.sin(theta) * torch.sin(phi), -torch.cos(theta), torch.sin(theta) * torch.cos(phi)], -1)
    normal = normal.reshape(-1, 3)
    _, tri, _ = grid(rows, cols)
    uv = torch.stack([u, v], -1).reshape(-1, 2)
    return normal * radius, tri, uv, normal


def box_room(
    size=(6.0, 3.0, 5.0), boxes: int = 6, subdivisions: int = 8, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A closed room (floor, ceiling, four walls, facing inward) with `boxes` boxes on the floor.

    Every face is a `subdivisions` x `subdivisions` grid, so the triangle count is
    (6 + 6 * boxes) * 2 * subdivisions^2. Returns pos [V, 3], tri [F, 3] int32, object id [F] int64
    (0 = room shell, k = box k). The room spans x in [-w/2, w/2], y in [0, h], z in [-d/2, d/2].
    """
    g = torch.Generator().manual_seed(seed)
    width, height, depth = size
    positions, triangles, objects = [], [], []
    count = 0

    def add_box(center, half, inward: bool, object_id: int):
        nonlocal count
        base_pos, base_tri, _ = grid(subdivisions, subdivisions)
        # Six faces of a cube [-1, 1]^3 facing outward: rotations of the +z grid.
        faces = [
            torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]]),  # +z
            torch.tensor([[-1.0, 0, 0], [0, 1, 0], [0, 0, -1]]),  # -z
            torch.tensor([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]),  # -x
            torch.tensor([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]]),  # +x
            torch.tensor([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),  # -y
            torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),  # +y
        ]
        for rot in faces:
            p = (base_pos + torch.tensor([0.0, 0.0, 1.0])) @ rot.T
            p = p * torch.as_tensor(half) + torch.as_tensor(center)
            t = base_tri.long() + count
            if inward:
                t = t[:, [0, 2, 1]]
            positions.append(p)
            triangles.append(t)
            objects.append(torch.full((t.shape[0],), object_id, dtype=torch.int64))
            count += p.shape[0]

    add_box((0.0, height / 2, 0.0), (width / 2, height / 2, depth / 2), inward=True, object_id=0)
    for k in range(boxes):
        half = (0.2 + 0.4 * torch.rand(3, generator=g)).tolist()
        cx = (torch.rand(1, generator=g).item() - 0.5) * (width - 2 * half[0] - 0.2)
        cz = (torch.rand(1, generator=g).item() - 0.5) * (depth - 2 * half[2] - 0.2)
        add_box((cx, half[1], cz), half, inward=False, object_id=k + 1)
    return torch.cat(positions), torch.cat(triangles).to(torch.int32), torch.cat(objects)
