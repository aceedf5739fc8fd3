"""The room as the texturer sees it: named objects, each a triangle mesh with its own UV layout.

Conventions (every module of `intrinsix.texturing` relies on them):
- Units are metres, +Y is up (glTF, engines, `intrinsix.kernels.meshes.box_room`).
- `positions` are the object's vertices as stored in the file (object space); `transform` [4, 4]
  maps them to the room (world space): world = transform @ [x, y, z, 1]. Keeping the file's
  vertices and node matrix lets the exported .glb carry them unchanged.
- `uvs` are the file's texture coordinates, kept exactly (same float32 bytes). `uv_origin` says
  where v = 0 lies in the image: "top_left" (glTF, DirectX, the engines, the server's RAW upload;
  row 0 of an image is v = 0) or "bottom_left" (OBJ, OpenGL; v = 0 is the image's last row).
  Texture tensors inside the texturer always have row 0 at v = 0 (the `intrinsix.kernels.texture`
  addressing), whatever the origin; exporters flip rows of "bottom_left" objects so that every
  written image has its top row first (pbr's `uv_origin: top_left`).
- Triangles are counter-clockwise seen from the front where the file says so; nothing here
  depends on it (the rasterizer draws both windings).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from intrinsix.pbr import check_material_name, material_name_from_prompt

UV_ORIGINS = ("top_left", "bottom_left")
# A triangle whose area is below this fraction of the squared size of its object's bounding box is
# degenerate (repeated or collinear corners): it covers no pixel and has no tangent frame.
DEGENERATE_RELATIVE_AREA = 1e-12


class MeshError(ValueError):
    """A room mesh the texturer cannot use; the message names the object, what is wrong and what is
    allowed. A ValueError, so that the server reports it as INVALID_ARGUMENT."""


@dataclass(frozen=True, eq=False)
class RoomObject:
    """One object of a room: one mesh with one texture set.

    name: safe material name (letters, digits, '_'; `pbr.check_material_name`), unique in the room;
        it names the exported texture set.
    positions: [V, 3] float32, object space (see `transform`), metres.
    triangles: [F, 3] int64 vertex indices.
    uvs: [V, 2] float32 texture coordinates exactly as given, or None (an atlas is made).
    uv_origin: "top_left" or "bottom_left" (see the module docstring).
    normals: [V, 3] float32 unit vectors in object space from the file, or None (computed).
    transform: [4, 4] float64 object -> world matrix.
    source_name: the object's name in the file (for --object-prompt and reports).
    prompt: this object's own prompt, or None (the room prompt alone describes it).
    uv_generated: True if `uvs` were made by the texturer (xatlas), False if they came with the mesh.
    texture_size: side of the object's square texture maps in texels (set by the atlas planner).
    """

    name: str
    positions: np.ndarray
    triangles: np.ndarray
    uvs: np.ndarray | None = None
    uv_origin: str = "top_left"
    normals: np.ndarray | None = None
    transform: np.ndarray = field(default_factory=lambda: np.eye(4))
    source_name: str = ""
    prompt: str | None = None
    uv_generated: bool = False
    texture_size: int | None = None

    @property
    def world_positions(self) -> np.ndarray:  # [V, 3] float32
        return apply_transform(self.transform, self.positions)

    @property
    def world_normals(self) -> np.ndarray | None:  # [V, 3] float32 unit, or None
        if self.normals is None:
            return None
        return transform_normals(self.transform, self.normals)

    def with_changes(self, **changes) -> RoomObject:
        return replace(self, **changes)


@dataclass(frozen=True, eq=False)
class RoomScene:
    """The objects of one room, in file order; names unique."""

    objects: tuple[RoomObject, ...]

    def __post_init__(self):
        if not self.objects:
            raise MeshError("the room has no objects with triangles; a room needs at least one triangle mesh")
        names = [o.name for o in self.objects]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise MeshError(f"object names must be unique in a room, got duplicates {duplicates}")

    def __iter__(self):
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def object(self, name: str) -> RoomObject:
        for obj in self.objects:
            if name in (obj.name, obj.source_name):
                return obj
        raise KeyError(f"the room has no object named {name!r}; objects: {self.describe_names()}")

    def describe_names(self) -> list[str]:
        return [o.name if o.source_name in ("", o.name) else f"{o.name} ({o.source_name})" for o in self.objects]

    @property
    def triangle_count(self) -> int:
        return int(sum(o.triangles.shape[0] for o in self.objects))

    def with_objects(self, objects) -> RoomScene:
        return RoomScene(tuple(objects))


def apply_transform(transform: np.ndarray, points: np.ndarray) -> np.ndarray:  # [V, 3] -> [V, 3] float32
    if np.array_equal(transform, np.eye(4)):
        return np.asarray(points, dtype=np.float32)
    p = np.asarray(points, dtype=np.float64)
    return (p @ transform[:3, :3].T + transform[:3, 3]).astype(np.float32)


def transform_normals(transform: np.ndarray, normals: np.ndarray) -> np.ndarray:  # [V, 3] unit -> [V, 3] unit
    """Normals through the inverse transpose of the linear part, renormalised."""
    if np.array_equal(transform, np.eye(4)):
        return np.asarray(normals, dtype=np.float32)
    matrix = np.linalg.inv(transform[:3, :3]).T
    n = np.asarray(normals, dtype=np.float64) @ matrix.T
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return (n / np.maximum(length, 1e-20)).astype(np.float32)


def triangle_areas(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:  # [F] float64
    p = np.asarray(positions, dtype=np.float64)
    a, b, c = p[triangles[:, 0]], p[triangles[:, 1]], p[triangles[:, 2]]
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def degenerate_triangles(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:  # [F] bool
    """True for triangles with repeated corners or (numerically) zero area."""
    repeated = ((triangles[:, 0] == triangles[:, 1]) | (triangles[:, 1] == triangles[:, 2])
                | (triangles[:, 0] == triangles[:, 2]))
    extent = np.ptp(np.asarray(positions, dtype=np.float64), axis=0)
    scale = float(np.sum(extent ** 2))
    return repeated | (triangle_areas(positions, triangles) <= DEGENERATE_RELATIVE_AREA * max(scale, 1e-30))


def check_object(obj: RoomObject) -> RoomObject:
    """Validate one object and return it with unused vertices kept (indices are never rewritten).

    Raises MeshError for: no triangles; positions not [V, 3] or with NaN/inf; indices outside
    [0, V); every triangle degenerate; UVs not [V, 2] or with NaN/inf; normals not [V, 3];
    an unknown uv_origin; a name that is not a safe material name.
    """
    label = f"object {obj.source_name or obj.name!r}"
    check_material_name(obj.name)
    positions = np.asarray(obj.positions)
    triangles = np.asarray(obj.triangles)
    if triangles.size == 0:
        raise MeshError(f"{label} has no triangles (0 faces); a room object needs at least 1 triangle "
                        "with non-zero area")
    if positions.ndim != 2 or positions.shape[1] != 3 or positions.shape[0] < 3:
        raise MeshError(f"{label}: positions must have shape [V, 3] with V >= 3, got {positions.shape}")
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise MeshError(f"{label}: triangles must have shape [F, 3], got {triangles.shape}")
    if not np.issubdtype(triangles.dtype, np.integer):
        raise MeshError(f"{label}: triangle indices must be integers, got dtype {triangles.dtype}")
    finite = np.isfinite(positions).all(axis=1)
    if not finite.all():
        first = int(np.argmin(finite))
        raise MeshError(f"{label}: {int((~finite).sum())} of {positions.shape[0]} vertices have NaN or infinite "
                        f"coordinates (first: vertex {first}); all coordinates must be finite")
    low, high = int(triangles.min()), int(triangles.max())
    if low < 0 or high >= positions.shape[0]:
        bad = low if low < 0 else high
        raise MeshError(f"{label}: vertex index {bad} is out of range; allowed 0..{positions.shape[0] - 1}")
    degenerate = degenerate_triangles(obj.world_positions, triangles)
    if degenerate.all():
        raise MeshError(f"{label}: all {triangles.shape[0]} triangles are degenerate (zero area: repeated or "
                        "collinear corners); a room object needs at least 1 triangle with non-zero area")
    if obj.uv_origin not in UV_ORIGINS:
        raise MeshError(f"{label}: uv_origin must be one of {UV_ORIGINS}, got {obj.uv_origin!r}")
    if obj.uvs is not None:
        uvs = np.asarray(obj.uvs)
        if uvs.shape != (positions.shape[0], 2):
            raise MeshError(f"{label}: uvs must have shape [V, 2] = [{positions.shape[0]}, 2], got {uvs.shape}")
        finite_uv = np.isfinite(uvs).all(axis=1)
        if not finite_uv.all():
            raise MeshError(f"{label}: {int((~finite_uv).sum())} vertices have NaN or infinite UVs (first: vertex "
                            f"{int(np.argmin(finite_uv))}); all UVs must be finite")
    if obj.normals is not None and np.asarray(obj.normals).shape != positions.shape:
        raise MeshError(f"{label}: normals must have shape [V, 3] like positions, got {np.asarray(obj.normals).shape}")
    transform = np.asarray(obj.transform, dtype=np.float64)
    if transform.shape != (4, 4) or not np.isfinite(transform).all() or abs(np.linalg.det(transform[:3, :3])) < 1e-30:
        raise MeshError(f"{label}: transform must be a finite, invertible [4, 4] matrix")
    return replace(obj, positions=positions.astype(np.float32, copy=False),
                   triangles=triangles.astype(np.int64, copy=False),
                   uvs=None if obj.uvs is None else np.asarray(obj.uvs, dtype=np.float32),
                   normals=None if obj.normals is None else np.asarray(obj.normals, dtype=np.float32),
                   transform=transform)


def unique_names(names: list[str]) -> list[str]:
    """Safe, unique material names for the objects' file names ("living room" -> "LivingRoom",
    a repeated "Chair" -> "Chair", "Chair_2", ...)."""
    out, seen = [], set()
    for index, raw in enumerate(names):
        base = material_name_from_prompt(raw or f"Object{index}", default=f"Object{index}")[:56]
        name, k = base, 2
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        out.append(name)
    return out


def build_scene(objects: list[dict]) -> RoomScene:
    """A checked RoomScene from dicts of RoomObject fields (without `name`: it is made unique from
    `source_name`). Every object is validated with `check_object`."""
    if not objects:
        raise MeshError("the room has no triangle meshes; a room needs at least one object with triangles")
    names = unique_names([o.get("source_name", "") for o in objects])
    return RoomScene(tuple(check_object(RoomObject(name=n, **o)) for n, o in zip(names, objects)))


def scene_from_arrays(positions: np.ndarray, triangles: np.ndarray, object_ids: np.ndarray | None = None,
                      uvs: np.ndarray | None = None, names: list[str] | None = None,
                      uv_origin: str = "top_left") -> RoomScene:
    """A room from one vertex/index buffer (e.g. `kernels.meshes.box_room`): faces grouped by
    `object_ids` [F] (None: one object), each object's vertices compacted (kept in order).

    positions [V, 3], triangles [F, 3], uvs [V, 2] or None; names: one per distinct id in increasing
    id order (default "Object<id>", and "Room" for id 0 when several objects are given).
    """
    positions = np.asarray(positions, dtype=np.float32)
    triangles = np.asarray(triangles, dtype=np.int64)
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise MeshError(f"triangles must have shape [F, 3], got {triangles.shape}")
    ids = np.zeros(triangles.shape[0], np.int64) if object_ids is None else np.asarray(object_ids, np.int64)
    if ids.shape != (triangles.shape[0],):
        raise MeshError(f"object_ids must have shape [F] = [{triangles.shape[0]}], got {ids.shape}")
    distinct = np.unique(ids) if ids.size else np.zeros(1, np.int64)
    if names is None:
        names = [("Room" if k == 0 and len(distinct) > 1 else f"Object{k}") for k in distinct]
    if len(names) != len(distinct):
        raise MeshError(f"names must give one name per object id ({len(distinct)}), got {len(names)}")
    objects = []
    for k, name in zip(distinct, names):
        faces = triangles[ids == k]
        used = np.unique(faces) if faces.size else np.zeros(0, np.int64)
        if used.size and (used[0] < 0 or used[-1] >= positions.shape[0]):
            bad = used[0] if used[0] < 0 else used[-1]
            raise MeshError(f"object {name!r}: vertex index {int(bad)} is out of range; allowed "
                            f"0..{positions.shape[0] - 1}")
        remap = np.full(positions.shape[0], -1, np.int64)
        remap[used] = np.arange(used.size)
        objects.append(dict(positions=positions[used], triangles=remap[faces] if faces.size else faces,
                            uvs=None if uvs is None else np.asarray(uvs, np.float32)[used], uv_origin=uv_origin,
                            source_name=name))
    return build_scene(objects)
