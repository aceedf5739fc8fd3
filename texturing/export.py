"""Output of a textured room through `intrinsix.pbr`: one texture set per object for any engine
profile, a textured .glb of the whole room, and `room.json` (what was done and how well).

Folder layout written by `write_room(export_room(result, profile), out)`:
    out/room.glb              the room, every object textured (glTF 2.0, validator-clean)
    out/room.json             report: objects, cameras, coverage, settings, file checksums
    out/<Object>/...          the object's texture set in the profile's conventions + material.json
Images are written top row first (pbr's uv_origin "top_left"): rows of "bottom_left" (OBJ)
objects are flipped on the way out, so each set fits the object's original UVs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from intrinsix.pbr import ExportedFile, ExportResult, TextureSet, export, write_export
from intrinsix.pbr.packing import base_color_png, normal_png, orm_png

from .geometry import object_normals, tangent_frames
from .gltf_write import GlbObject, build_room_glb
from .optimize import RoomTexturingResult

ROOM_GLB_NAME = "room.glb"
REPORT_NAME = "room.json"
REPORT_SCHEMA = "intrinsix.room/1"


def object_texture_sets(result: RoomTexturingResult) -> list[TextureSet]:
    """One pbr TextureSet per object (named after it), images top row first."""
    sets = []
    for obj, maps in zip(result.scene, result.objects):
        albedo, roughness, metallic, normal = maps.albedo, maps.roughness, maps.metallic, maps.normal
        if obj.uv_origin == "bottom_left":  # v = 0 is the image's last row
            albedo, roughness, metallic, normal = (t.flip(0) for t in (albedo, roughness, metallic, normal))
        material = np.concatenate([roughness.numpy(), metallic.numpy(), np.zeros_like(roughness.numpy())], axis=-1)
        sets.append(TextureSet.from_generator(albedo, material, normal, name=obj.name))
    return sets


def room_glb(result: RoomTexturingResult, texture_sets: list[TextureSet] | None = None) -> bytes:
    """The textured room as .glb bytes (gltf_write); `texture_sets` as from object_texture_sets
    (derived maps missing from them are computed here)."""
    texture_sets = texture_sets or object_texture_sets(result)
    objects = []
    for obj, texture_set in zip(result.scene, texture_sets):
        complete = texture_set.with_derived()
        images = {"base_color": base_color_png(complete, f"{obj.name}_baseColor.png").data,
                  "orm": orm_png(complete, f"{obj.name}_occlusionRoughnessMetallic.png").data,
                  "normal": normal_png(complete, f"{obj.name}_normal.png", "opengl").data}
        normals = object_normals(obj, world=False)
        tangents = tangent_frames(obj.positions, obj.triangles, obj.uvs, normals, obj.uv_origin)
        texcoords = obj.uvs
        if obj.uv_origin == "bottom_left":
            texcoords = np.stack([obj.uvs[:, 0], np.float32(1.0) - obj.uvs[:, 1]], axis=1).astype(np.float32)
        objects.append(GlbObject(name=obj.name, positions=obj.positions, normals=normals, tangents=tangents,
                                 texcoords=texcoords, triangles=obj.triangles, transform=obj.transform,
                                 images=images))
    return build_room_glb(objects)


@dataclass(frozen=True)
class RoomExport:
    """objects: object name -> the ExportResult of its texture set; glb: room.glb bytes;
    report: the content of room.json."""

    profile: str
    objects: dict[str, ExportResult]
    glb: bytes
    report: dict


def room_report(result: RoomTexturingResult, metadata: Mapping | None = None) -> dict:
    """The facts of a run for room.json (and the server's manifest): no timings, so that the same
    inputs and seed give the same bytes."""
    plan = result.plan
    return {
        "schema": REPORT_SCHEMA,
        "objects": [{
            "name": obj.name, "source_name": obj.source_name, "prompt": obj.prompt, "texture_size": obj.texture_size,
            "uv_source": "xatlas" if obj.uv_generated else "file", "uv_origin": obj.uv_origin,
            "triangles": int(obj.triangles.shape[0]), "coverage": round(cov, 6),
        } for obj, cov in zip(result.scene, plan.object_coverage)],
        "cameras": [{"eye": [round(v, 6) for v in c.eye], "target": [round(v, 6) for v in c.target],
                     "fov_deg": c.fov_deg, "prompt": p} for c, p in zip(plan.cameras, result.prompts)],
        "coverage": round(plan.coverage, 6),
        "reachable_coverage": round(plan.reachable, 6),
        "gradient_coverage": round(result.gradient_coverage, 6),
        "iterations": result.config.iterations,
        "views_per_iteration": result.config.views_per_iteration,
        "resolution": result.config.resolution,
        "texture_budget": result.config.texture_budget,
        "seed": result.config.seed,
        "metadata": dict(metadata or {}),
    }


def export_room(result: RoomTexturingResult, profile: str, *, normal_bits: int = 8, gltf_layout: str = "glb",
                metadata: Mapping | None = None) -> RoomExport:
    """Per-object pbr exports for `profile` ("unreal", "godot", "gltf", "unity", "raw"), the room
    .glb and the report. metadata: extra facts (prompt, model, ...) for every manifest."""
    sets = [texture_set.with_derived() for texture_set in object_texture_sets(result)]  # derived maps once
    objects = {}
    for obj, texture_set in zip(result.scene, sets):
        facts = {**dict(metadata or {}), "object": obj.source_name or obj.name}
        if obj.prompt:
            facts["object_prompt"] = obj.prompt
        objects[obj.name] = export(texture_set, profile, normal_bits=normal_bits, gltf_layout=gltf_layout,
                                   metadata=facts)
    glb = room_glb(result, sets)
    report = room_report(result, metadata)
    return RoomExport(profile=next(iter(objects.values())).profile, objects=objects, glb=glb, report=report)


def room_files(room: RoomExport) -> ExportResult:
    """room.glb and room.json as an ExportResult (the report lists the glb's size and checksum)."""
    glb = ExportedFile(name=ROOM_GLB_NAME, semantic="model", color_space="none", format="glb", width=0, height=0,
                       channels=0, data=room.glb)
    report = dict(room.report, profile=room.profile, files=[glb.describe()],
                  folders={name: name for name in room.objects})
    data = (json.dumps(report, indent=2) + "\n").encode("utf-8")
    manifest = ExportedFile(name=REPORT_NAME, semantic="manifest", color_space="none", format="json", width=0,
                            height=0, channels=0, data=data)
    return ExportResult(profile=room.profile, material_name="Room", files=(glb, manifest), manifest=report)


def write_room(room: RoomExport, out_dir: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Write every object's set into out_dir/<Object>/ (pbr.write_export: atomic, refuses to
    overwrite different files unless overwrite=True), then room.glb and room.json. Returns the paths."""
    folder = Path(out_dir)
    paths = []
    for name, result in room.objects.items():
        paths += write_export(result, folder / name, overwrite=overwrite)
    paths += write_export(room_files(room), folder, overwrite=overwrite)
    return paths
