"""Room texturing (SceneIntrinsiX): UV texture sets for an existing room mesh from text, by score
distillation with the IntrinsiX generator through the kernels' renderer. See docs/room-texturing.md.

    from intrinsix.texturing import load_room, texture_room, IntrinsiXPrior, export_room, write_room
    scene = load_room("room.glb", object_prompts={"Sofa": "green velvet"})
    result = texture_room(scene, IntrinsiXPrior(pipe), "a cozy scandinavian living room")
    write_room(export_room(result, "unreal"), "out/")

Names are imported on first use, so that `import intrinsix.texturing` (and the CLI parser) stays
light: torch, the kernels, trimesh and xatlas load only when needed.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "MeshError": "scene",
    "RoomObject": "scene",
    "RoomScene": "scene",
    "scene_from_arrays": "scene",
    "load_room": "mesh_io",
    "assign_prompts": "mesh_io",
    "plan_texture_sizes": "atlas",
    "prepare_scene": "atlas",
    "make_atlas": "atlas",
    "Camera": "cameras",
    "CameraPlan": "cameras",
    "place_cameras": "cameras",
    "build_geometry": "geometry",
    "render_views": "render",
    "IntrinsicPrior": "sds",
    "score_distillation": "sds",
    "IntrinsiXPrior": "prior",
    "TexturingConfig": "optimize",
    "RoomTexturingResult": "optimize",
    "PreviewHook": "optimize",
    "texture_room": "optimize",
    "DEFAULT_ITERATIONS": "optimize",
    "dilate": "seams",
    "export_room": "export",
    "write_room": "export",
    "RoomExport": "export",
    "object_texture_sets": "export",
    "room_glb": "export",
    "room_texturing_available": "availability",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'intrinsix.texturing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
