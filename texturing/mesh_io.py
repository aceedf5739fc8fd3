"""Load a room mesh file into a RoomScene.

- .glb / .gltf: read directly (`gltf_read`), one object per node primitive, TEXCOORD_0 bytes kept.
- .obj (and the other formats trimesh reads: .ply, .off, .stl, ...): trimesh with
  `process=False, maintain_order=True` (no vertex merging or reordering), one object per OBJ
  `o` name; OBJ texture coordinates have their origin at the bottom left ("bottom_left").
Per-object prompts are attached with `assign_prompts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .scene import MeshError, RoomScene, build_scene

GLTF_SUFFIXES = (".glb", ".gltf")


def _read_with_trimesh(path: Path) -> list[dict]:
    try:
        import trimesh
    except ImportError as exc:  # pragma: no cover - trimesh is a declared dependency
        raise MeshError(f"reading {path.suffix} files needs trimesh (pip install trimesh): {exc}") from exc
    try:
        scene = trimesh.load(str(path), force="scene", process=False, maintain_order=True, split_objects=True,
                             group_material=False)
    except Exception as exc:  # noqa: BLE001 - trimesh raises many types for unreadable files
        raise MeshError(f"{path}: trimesh could not read the file: {type(exc).__name__}: {exc}") from exc
    objects = []
    for node in scene.graph.nodes_geometry:
        transform, geometry_name = scene.graph[node]
        geometry = scene.geometry[geometry_name]
        if not hasattr(geometry, "faces"):
            continue  # point clouds and paths
        faces = np.asarray(geometry.faces, dtype=np.int64).reshape(-1, 3)
        vertices = np.asarray(geometry.vertices, dtype=np.float64)
        # trimesh keeps every vertex of the file in each split object: keep only the used ones, in order.
        used = np.unique(faces) if faces.size else np.zeros(0, np.int64)
        remap = np.full(vertices.shape[0], -1, np.int64)
        remap[used] = np.arange(used.size)
        uv = getattr(geometry.visual, "uv", None)
        uvs = None if uv is None or len(uv) != vertices.shape[0] else np.asarray(uv, np.float32)[used]
        objects.append(dict(positions=vertices[used].astype(np.float32),
                            triangles=remap[faces] if faces.size else faces, uvs=uvs, uv_origin="bottom_left",
                            transform=np.asarray(transform, np.float64), source_name=str(node)))
    if not objects:
        raise MeshError(f"{path}: the file holds no triangle meshes")
    return objects


def load_room(path: str | Path, object_prompts: Mapping[str, str] | None = None) -> RoomScene:
    """Read a room file (.glb, .gltf, .obj, or another format trimesh reads) into a checked RoomScene.

    object_prompts: {object name: prompt}; names are the file's names (node/mesh names for glTF,
    `o` names for OBJ) or the safe names made from them. Raises MeshError (a ValueError) naming
    the object and the problem for unreadable files and bad meshes (no faces, NaN vertices, only
    degenerate triangles), and KeyError for a prompt naming no object.
    """
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"room file {str(path)!r} does not exist or is not a file")
    if path.suffix.lower() in GLTF_SUFFIXES:
        from .gltf_read import read_gltf

        objects = read_gltf(path)
    else:
        objects = _read_with_trimesh(path)
    scene = build_scene(objects)
    return assign_prompts(scene, object_prompts or {})


def assign_prompts(scene: RoomScene, object_prompts: Mapping[str, str]) -> RoomScene:
    """A scene whose objects named in `object_prompts` (file name or safe name) carry that prompt."""
    by_object = {}
    for name, prompt in object_prompts.items():
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"the prompt for object {name!r} must be non-empty text")
        by_object[scene.object(name).name] = prompt.strip()  # KeyError lists the objects
    return scene.with_objects(o.with_changes(prompt=by_object.get(o.name, o.prompt)) for o in scene)
