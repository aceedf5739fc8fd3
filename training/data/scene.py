"""Random synthetic rooms for training views: a room shell, boxes and spheres, one procedural
material per surface, point lights under the ceiling, and camera poses inside the room.

    scene = sample_scene(seed=3, material_size=256)
    cameras = sample_cameras(scene, count=4, seed=3)

Everything random comes from numpy generators seeded by the arguments (no global state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import geometry
from .materials import Material, generate_material, sample_spec
from .vocabulary import FAMILIES, Combination

# Which families the sampler puts where (Family.surface; "any" fits everywhere).
ROLE_SURFACES = {"floor": ("floor", "any"), "wall": ("wall", "any"), "ceiling": ("any",), "object": ("object", "any")}
# Texture tile size in metres per role: one material texture covers this much surface.
ROLE_TILE_METRES = {"floor": (1.0, 2.0), "wall": (1.0, 2.0), "ceiling": (1.5, 2.5), "object": (0.4, 1.0)}


@dataclass
class Part:
    """One surface of the scene (a mesh part) and its material."""

    role: str  # "floor", "ceiling", "wall", "box", "sphere"
    material: int  # index into Scene.materials


@dataclass
class Scene:
    mesh: geometry.Mesh  # all parts; mesh.part indexes `parts`
    tangents: torch.Tensor  # [V, 4] per-vertex tangent frames of `mesh`
    parts: list[Part]
    materials: list[Material]
    size: tuple[float, float, float]  # room width (x), height (y), depth (z) in metres
    obstacles: list[tuple[np.ndarray, np.ndarray]]  # (min corner, max corner) of every object's bounds
    light_position: torch.Tensor  # [L, 3] world space, metres
    light_intensity: torch.Tensor  # [L, 3] linear RGB radiant intensity (irradiance = I / d^2)
    ambient: torch.Tensor  # [3] linear RGB radiance of a uniform environment (approximate indirect light)


@dataclass
class Camera:
    eye: tuple[float, float, float]  # world position, metres
    target: tuple[float, float, float]  # world point the camera looks at


def _families_for(role: str, combinations: list[Combination] | None) -> list[str]:
    allowed = ROLE_SURFACES[role]
    names = [f.name for f in FAMILIES.values() if f.surface in allowed]
    if combinations is not None:
        present = {c[0] for c in combinations}
        names = [n for n in names if n in present]
    if not names:
        raise ValueError(f"no material family allowed for the {role} (check the combinations)")
    return names


def _material(role: str, rng: np.random.Generator, material_size: int,
              combinations: list[Combination] | None) -> Material:
    families = _families_for(role, combinations)
    fam = families[int(rng.integers(len(families)))]
    spec = sample_spec(int(rng.integers(2**31)), family=fam, combinations=combinations)
    return generate_material(spec, material_size)


def sample_scene(seed: int, material_size: int = 256, combinations: list[Combination] | None = None,
                 max_boxes: int = 4, max_spheres: int = 3) -> Scene:
    """A random furnished room: 1 .. max_boxes boxes (none if max_boxes is 0) and 0 .. max_spheres
    spheres on the floor. `combinations` restricts the materials (e.g. to the training split)."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if max_boxes < 0 or max_spheres < 0:
        raise ValueError(f"max_boxes and max_spheres must be >= 0, got {max_boxes}, {max_spheres}")
    rng = np.random.default_rng([int(seed), 101])
    width, height, depth = float(rng.uniform(3.5, 7.0)), float(rng.uniform(2.5, 3.2)), float(rng.uniform(3.5, 7.0))
    materials: list[Material] = []
    parts: list[Part] = []
    pieces: list[geometry.Mesh] = []

    def add_material(role: str) -> int:
        materials.append(_material(role, rng, material_size, combinations))
        return len(materials) - 1

    def tile(role: str) -> float:
        return float(rng.uniform(*ROLE_TILE_METRES[role]))

    floor, ceiling, wall = add_material("floor"), add_material("ceiling"), add_material("wall")
    accent = add_material("wall") if rng.random() < 0.4 else wall
    wall_tile = tile("wall")
    roles = ("floor", "ceiling", "wall_back", "wall_front", "wall_left", "wall_right")
    tiles = {r: (wall_tile if r.startswith("wall") else tile(r)) for r in roles}
    offsets = {r: tuple(rng.uniform(0.0, 1.0, 2)) for r in roles}
    shell = geometry.room_shell(width, height, depth, tiles, offsets)
    accent_wall = roles[2 + int(rng.integers(4))]
    for r in roles:
        pieces.append(shell[r])
        kind = "wall" if r.startswith("wall") else r
        parts.append(Part(kind, accent if r == accent_wall else {"floor": floor, "ceiling": ceiling}.get(r, wall)))

    obstacles: list[tuple[np.ndarray, np.ndarray]] = []

    def free(lo: np.ndarray, hi: np.ndarray) -> bool:
        return all(np.any(hi < o_lo) or np.any(lo > o_hi) for o_lo, o_hi in obstacles)

    for _ in range(int(rng.integers(min(1, max_boxes), max_boxes + 1))):
        half = rng.uniform([0.2, 0.2, 0.2], [0.6, 0.7, 0.6])
        center = np.array([rng.uniform(-width / 2 + half[0] + 0.1, width / 2 - half[0] - 0.1), half[1],
                           rng.uniform(-depth / 2 + half[2] + 0.1, depth / 2 - half[2] - 0.1)])
        if not free(center - half, center + half):
            continue
        obstacles.append((center - half, center + half))
        pieces.append(geometry.box(center.tolist(), half.tolist(), tile("object"), tuple(rng.uniform(0, 1, 2))))
        parts.append(Part("box", add_material("object")))
    for _ in range(int(rng.integers(0, max_spheres + 1))):
        radius = float(rng.uniform(0.2, 0.5))
        center = np.array([rng.uniform(-width / 2 + radius + 0.1, width / 2 - radius - 0.1), radius,
                           rng.uniform(-depth / 2 + radius + 0.1, depth / 2 - radius - 0.1)])
        if not free(center - radius, center + radius):
            continue
        obstacles.append((center - radius, center + radius))
        pieces.append(geometry.sphere(center.tolist(), radius, tile("object")))
        parts.append(Part("sphere", add_material("object")))

    mesh = geometry.concat(pieces)
    count = int(rng.integers(1, 4))
    light_position = np.stack([rng.uniform(-width / 2 + 0.5, width / 2 - 0.5, count),
                               np.full(count, height - 0.25),
                               rng.uniform(-depth / 2 + 0.5, depth / 2 - 0.5, count)], axis=1)
    # Warm-to-neutral white lights; irradiance 1.5 .. 4 at 2.5 m.
    tint = rng.uniform([1.0, 0.85, 0.65], [1.0, 1.0, 1.0], (count, 3))
    light_intensity = tint * rng.uniform(1.5, 4.0, (count, 1)) * 2.5**2 / count**0.5
    ambient = rng.uniform(0.03, 0.12) * rng.uniform([0.9, 0.9, 0.9], [1.0, 1.0, 1.1])
    return Scene(mesh, geometry.tangents(mesh), parts, materials, (width, height, depth), obstacles,
                 torch.tensor(light_position, dtype=torch.float32), torch.tensor(light_intensity, dtype=torch.float32),
                 torch.tensor(ambient, dtype=torch.float32))


def sample_cameras(scene: Scene, count: int, seed: int) -> list[Camera]:
    """`count` camera poses inside the room, outside every object (0.3 m margin), eye height
    1.0 .. 2.0 m, looking in a random horizontal direction pitched -35 .. +10 degrees."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    rng = np.random.default_rng([int(seed), 202])
    width, height, depth = scene.size
    cameras: list[Camera] = []
    for _ in range(1000 * count):
        if len(cameras) == count:
            break
        eye = np.array([rng.uniform(-width / 2 + 0.4, width / 2 - 0.4), rng.uniform(1.0, min(2.0, height - 0.3)),
                        rng.uniform(-depth / 2 + 0.4, depth / 2 - 0.4)])
        if any(np.all(eye > lo - 0.3) and np.all(eye < hi + 0.3) for lo, hi in scene.obstacles):
            continue
        yaw, pitch = rng.uniform(0.0, 2.0 * math.pi), math.radians(rng.uniform(-35.0, 10.0))
        direction = np.array([math.cos(pitch) * math.sin(yaw), math.sin(pitch), -math.cos(pitch) * math.cos(yaw)])
        cameras.append(Camera(tuple(eye.tolist()), tuple((eye + direction).tolist())))
    if len(cameras) < count:
        raise RuntimeError(f"found only {len(cameras)} of {count} free camera positions in the room")
    return cameras
