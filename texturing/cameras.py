"""Camera placement inside the room: square 85-degree views (the IntrinsiX training FOV, REFERENCE.md
section 4) chosen greedily so that as many texels as possible are seen by at least one view.

1. Candidate eye positions on a grid inside the room's bounding box (margins of 12 % per side,
   eye heights at 45 % and 80 % of the room height). A position is dropped when a 6-direction
   probe from it sees mostly nothing (outside the room), a surface closer than 2 % of the room
   size, or many back faces (inside furniture); if that drops every position, the back-face rule
   is relaxed. Candidate views per position: 8 headings x 3 pitches (-55, -20, +15 degrees),
   straight-ish down and up (+-85), and one view aimed at the centre of every object.
2. A mesh with no inside (no position survives, or a box thinner than 5 % of its size in some
   axis: a single wall, a table) is looked at from outside instead: 8 headings x 3 elevations
   (-30, 10, 45 degrees) on a sphere around it, far enough for it to fit the field of view.
3. Visibility (`visibility.visible_samples`) of texel samples (at most `selection_samples` in all)
   for every candidate at `selection_resolution`; greedy cover with diminishing returns: repeatedly
   take the view with the largest sum over the texels it sees of 2^-(views already seeing the
   texel). The first views therefore maximise coverage (unseen texels count 1); later ones add
   second and third looks at the least-seen surfaces (more varied views for the distillation).
   Stop at `max_cameras` views or when the next one adds less than `min_gain` of all texels.
4. The chosen views are checked again at the render resolution on every texel: the reported
   coverage is the fraction of atlas texels seen by at least one chosen view.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from intrinsix.kernels import meshes, rasterize

from .geometry import RoomGeometry
from .visibility import surface_samples, visible_samples

FOV_DEG = 85.0
PITCHES_DEG = (-55.0, -20.0, 15.0)
HEADINGS = 8


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: eye and target in world space (metres), +Y up, square image, horizontal
    (and vertical) field of view `fov_deg`."""

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    fov_deg: float = FOV_DEG

    def view(self) -> torch.Tensor:  # [4, 4] world -> camera (OpenGL: looking down -z, +y up)
        return meshes.look_at(self.eye, self.target, up=(0.0, 1.0, 0.0))


def clip_matrices(cameras: list[Camera], near: float, far: float, device) -> torch.Tensor:  # [N, 4, 4]
    if not cameras:
        return torch.zeros(0, 4, 4, device=device)
    projection = meshes.perspective(cameras[0].fov_deg, 1.0, near, far)
    return torch.stack([projection @ c.view() for c in cameras]).to(device)


def view_matrices(cameras: list[Camera], device) -> torch.Tensor:  # [N, 4, 4]
    return torch.stack([c.view() for c in cameras]).to(device)


def clipping_planes(geometry: RoomGeometry) -> tuple[float, float]:
    """near, far in metres for a room of this size."""
    diagonal = float(np.linalg.norm(geometry.bounds[1] - geometry.bounds[0]))
    return max(1e-3, 0.004 * diagonal), 2.0 * diagonal + 1.0


@dataclass
class CameraPlan:
    """Chosen cameras and how much of the textures they see.

    cameras: the views, in selection order.  near, far: clipping planes (metres).
    coverage: fraction of atlas texels (inside the UV layouts) seen by at least one camera at the
        render resolution.  reachable: fraction seen by any candidate at the selection resolution
        (the most that placement could reach).
    object_coverage: coverage per object.  seen, atlas: per object [s, s] bool texel masks (seen
        by a camera / inside the UV layout), row 0 at v = 0.
    shares: [N, K] float, the fraction of camera n's pixels that object k covers.
    """

    cameras: list[Camera]
    near: float
    far: float
    coverage: float
    reachable: float
    object_coverage: list[float]
    seen: list[torch.Tensor]
    atlas: list[torch.Tensor]
    shares: torch.Tensor


def _probe(geometry: RoomGeometry, eyes: torch.Tensor, near: float, far: float, resolution: int = 24):
    """Per eye: fraction of empty pixels, fraction of back faces, nearest depth over 6 axis views."""
    directions = [(1, 0, 0), (-1, 0, 0), (0, 0, 1), (0, 0, -1), (0, 1, 0.001), (0, -1, 0.001)]
    projection = meshes.perspective(90.0, 1.0, near, far)
    views, eye_rows = [], []
    for i, eye in enumerate(eyes.tolist()):
        for d in directions:
            target = (eye[0] + d[0], eye[1] + d[1], eye[2] + d[2])
            views.append(projection @ meshes.look_at(eye, target))
            eye_rows.append(i)
    clip = torch.stack(views).to(geometry.device)
    rast = rasterize(geometry.positions, geometry.triangles, resolution, mvp=clip)
    ids = rast[..., 3].long().reshape(len(views), -1)
    drawn = ids > 0
    # Surface points from the depth buffer are not needed: the face normal against the direction
    # from the eye to the triangle's first vertex tells front from back.
    faces = (ids - 1).clamp_min(0)
    first = geometry.positions[geometry.triangles[faces][..., 0].long()]  # [V, P, 3]
    rows = torch.tensor(eye_rows, device=geometry.device)
    to_surface = first - eyes.to(geometry.device)[rows][:, None, :]
    back = drawn & ((geometry.face_normals[faces] * to_surface).sum(-1) > 0)
    depth = torch.where(drawn, 2.0 * far * near / ((far + near) - rast[..., 2].reshape(len(views), -1) * (far - near)),
                        torch.full_like(rast[..., 2].reshape(len(views), -1), float("inf")))
    n = eyes.shape[0]
    empty = (~drawn).float().reshape(n, -1).mean(1)
    back_share = back.float().reshape(n, -1).mean(1)
    nearest = depth.reshape(n, -1).min(1).values
    return empty.cpu(), back_share.cpu(), nearest.cpu()


def candidate_eyes(geometry: RoomGeometry, near: float, far: float) -> torch.Tensor:  # [P, 3], maybe P = 0
    """Eye positions inside the room (step 1 of the module docstring)."""
    low, high = geometry.bounds
    extent = high - low
    if float(extent.min()) < 0.05 * float(extent.max()):
        return torch.zeros(0, 3)
    size = float(max(extent[0], extent[2], 1e-6))
    spacing = size / 3.0
    axes = []
    for axis in (0, 2):
        count = int(min(max(round(extent[axis] / spacing), 2), 6))
        margin = 0.12 * extent[axis]
        axes.append(np.linspace(low[axis] + margin, high[axis] - margin, count))
    heights = [low[1] + f * extent[1] for f in (0.45, 0.8)]
    eyes = torch.tensor([(x, y, z) for y in heights for x in axes[0] for z in axes[1]], dtype=torch.float32)
    empty, back, nearest = _probe(geometry, eyes, near, far)
    clearance = 0.02 * float(np.linalg.norm(extent))
    inside_room = (empty < 0.5) & (nearest > clearance)
    keep = inside_room & (back < 0.2)
    if not keep.any():
        keep = inside_room  # the room's winding may be inconsistent: ignore back faces
    return eyes[keep]


def orbit_views(geometry: RoomGeometry) -> list[Camera]:
    """Views from outside, aimed at the centre of the bounding box (step 2 of the module docstring)."""
    low, high = geometry.bounds
    centre = (low + high) / 2.0
    radius = 0.5 * float(np.linalg.norm(high - low))
    distance = 1.15 * radius / math.sin(math.radians(FOV_DEG / 2.0)) + 1e-3
    cameras = []
    for elevation in (-30.0, 10.0, 45.0):
        for h in range(HEADINGS):
            heading = 2.0 * math.pi * (h + 0.5) / HEADINGS
            up, across = math.sin(math.radians(elevation)), math.cos(math.radians(elevation))
            direction = np.array([across * math.sin(heading), up, across * math.cos(heading)])
            cameras.append(Camera(tuple((centre + distance * direction).tolist()), tuple(centre.tolist())))
    return cameras


def candidate_views(geometry: RoomGeometry, eyes: torch.Tensor) -> list[Camera]:
    cameras = []
    centres = [(geometry.positions[geometry.triangles[geometry.object_slice(k)[1]].long()].reshape(-1, 3)
                .mean(0).tolist()) for k in range(geometry.num_objects)]
    for eye in eyes.tolist():
        for pitch in PITCHES_DEG:
            for h in range(HEADINGS):
                heading = 2.0 * math.pi * h / HEADINGS
                direction = (math.cos(math.radians(pitch)) * math.sin(heading), math.sin(math.radians(pitch)),
                             math.cos(math.radians(pitch)) * math.cos(heading))
                cameras.append(Camera(tuple(eye), tuple(e + d for e, d in zip(eye, direction))))
        for pitch in (-85.0, 85.0):
            direction = (math.cos(math.radians(pitch)), math.sin(math.radians(pitch)), 0.0)
            cameras.append(Camera(tuple(eye), tuple(e + d for e, d in zip(eye, direction))))
        for centre in centres:
            offset = np.subtract(centre, eye)
            if np.linalg.norm(offset) > 1e-3 and np.linalg.norm(offset[[0, 2]]) > 1e-3:
                cameras.append(Camera(tuple(eye), tuple(centre)))
    return cameras


def place_cameras(
    geometry: RoomGeometry,
    render_resolution: int = 512,
    max_cameras: int = 24,
    min_gain: float = 0.002,
    selection_resolution: int = 128,
    selection_samples: int = 1 << 16,
    on_progress: Callable[[str, int, int], None] | None = None,
    batch: int = 16,
) -> CameraPlan:
    """Choose up to `max_cameras` views covering the room's texels (see the module docstring)."""
    if max_cameras < 1:
        raise ValueError(f"max_cameras must be >= 1, got {max_cameras}")
    device = geometry.device
    near, far = clipping_planes(geometry)
    eyes = candidate_eyes(geometry, near, far)
    candidates = candidate_views(geometry, eyes) if eyes.shape[0] else orbit_views(geometry)

    total = sum(s * s for s in geometry.texture_sizes)
    factor = max(1.0, math.sqrt(total / selection_samples))
    coarse = [max(8, int(s / factor)) for s in geometry.texture_sizes]
    samples = surface_samples(geometry, coarse)
    steps = math.ceil(len(candidates) / batch) + 1
    visible = []
    for start in range(0, len(candidates), batch):
        chunk = candidates[start:start + batch]
        eye_t = torch.tensor([c.eye for c in chunk], device=device)
        seen, _ = visible_samples(geometry, samples, clip_matrices(chunk, near, far, device), eye_t,
                                  selection_resolution, near, far)
        visible.append(seen)
        if on_progress is not None:
            on_progress("cameras", start // batch + 1, steps)
    visible = torch.cat(visible).float()  # [C, S]
    weight = samples.weight
    total_weight = float(weight.sum())
    reachable = float((visible.amax(0) * weight).sum()) / max(total_weight, 1e-12)

    chosen: list[int] = []
    value = torch.ones_like(weight)  # what seeing a texel once more is worth: halves with every view
    while len(chosen) < max_cameras:
        gain = visible @ (weight * value)
        best = int(torch.argmax(gain))
        if chosen and float(gain[best]) < min_gain * total_weight:
            break
        chosen.append(best)
        value = value * (1.0 - 0.5 * visible[best])
    cameras = [candidates[i] for i in chosen]

    plan = measure_coverage(geometry, cameras, near, far, render_resolution)
    plan.reachable = reachable
    if on_progress is not None:
        on_progress("cameras", steps, steps)
    return plan


def measure_coverage(geometry: RoomGeometry, cameras: list[Camera], near: float, far: float,
                     resolution: int) -> CameraPlan:
    """Per-texel visibility of `cameras` at full texture resolution and `resolution` pixels."""
    device = geometry.device
    samples = surface_samples(geometry, geometry.texture_sizes)
    seen_any = torch.zeros(samples.count, dtype=torch.bool, device=device)
    shares = []
    per_batch = max(1, int(2 ** 24 // max(samples.count, 1)))
    for start in range(0, len(cameras), per_batch):
        chunk = cameras[start:start + per_batch]
        eye_t = torch.tensor([c.eye for c in chunk], device=device)
        seen, share = visible_samples(geometry, samples, clip_matrices(chunk, near, far, device), eye_t,
                                      resolution, near, far)
        seen_any |= seen.any(0)
        shares.append(share)
    seen_masks, object_coverage = [], []
    for k, size in enumerate(geometry.texture_sizes):
        picked = samples.object == k
        mask = torch.zeros(size * size, dtype=torch.bool, device=device)
        mask[samples.texel[picked]] = seen_any[picked]
        seen_masks.append(mask.reshape(size, size))
        object_coverage.append(float(seen_any[picked].float().mean()) if picked.any() else 0.0)
    coverage = float(seen_any.float().mean()) if samples.count else 0.0
    return CameraPlan(cameras=cameras, near=near, far=far, coverage=coverage, reachable=coverage,
                      object_coverage=object_coverage, seen=seen_masks, atlas=samples.mask,
                      shares=torch.cat(shares) if shares else torch.zeros(0, geometry.num_objects))
