"""The texturer end to end: camera placement, render conventions, gradient reach, seam dilation, and a
run with the tiny random IntrinsiX pipeline that writes valid files for every engine profile."""

import json

import numpy as np
import pytest
import torch
from texturing_testing import TargetPrior

from intrinsix.generator import make_tiny_pipeline
from intrinsix.texturing import IntrinsiXPrior, assign_prompts, dilate, scene_from_arrays, texture_room
from intrinsix.texturing.atlas import prepare_scene
from intrinsix.texturing.cameras import Camera, clip_matrices, place_cameras, view_matrices
from intrinsix.texturing.export import export_room, write_room
from intrinsix.texturing.geometry import build_geometry
from intrinsix.texturing.optimize import TexturingConfig
from intrinsix.texturing.render import render_views


def test_cameras_inside_the_room_cover_its_texels(box_room_scene):
    geometry = build_geometry(prepare_scene(box_room_scene, 3 * 64 * 64))
    plan = place_cameras(geometry, render_resolution=48, max_cameras=12)
    assert 1 <= len(plan.cameras) <= 12 and all(c.fov_deg == 85.0 for c in plan.cameras)
    low, high = geometry.bounds
    for camera in plan.cameras:
        eye = np.array(camera.eye)
        assert (eye > low).all() and (eye < high).all()  # inside the room
        for k in range(1, geometry.num_objects):  # and outside every box
            vs, _ = geometry.object_slice(k)
            box = geometry.positions[vs].numpy()
            assert not ((eye > box.min(0)).all() and (eye < box.max(0)).all())
    # Box bottoms lie on the floor: no camera can see them, everything else nearly all.
    assert 0.85 < plan.coverage < 0.99 and plan.coverage <= plan.reachable + 0.02
    assert plan.object_coverage[0] > 0.9  # the shell (walls, floor, ceiling; not the floor under the boxes)
    assert plan.shares.shape == (len(plan.cameras), 3) and torch.allclose(plan.shares.sum(1), torch.ones(len(plan.cameras)))


@pytest.mark.parametrize("uv_origin", ["top_left", "bottom_left"])
def test_render_conventions_rows_and_camera_space_normals(uv_origin):
    """A wall facing the camera: texture row v = 0 shows at the image top for glTF-style UVs and at
    the bottom for OBJ-style ones; normal-map x/y turn the camera-space normal right/up."""
    positions = np.float32([[-1, 1, 0], [1, 1, 0], [1, -1, 0], [-1, -1, 0]])
    top_left_uvs = np.float32([[0, 0], [1, 0], [1, 1], [0, 1]])
    uvs = top_left_uvs if uv_origin == "top_left" else np.float32([[0, 1], [1, 1], [1, 0], [0, 0]])
    scene = scene_from_arrays(positions, np.array([[0, 3, 2], [0, 2, 1]]), uvs=uvs, uv_origin=uv_origin)
    scene = scene.with_objects([scene.objects[0].with_changes(texture_size=8)])
    geometry = build_geometry(scene)
    camera = [Camera((0.0, 0.0, 0.9), (0.0, 0.0, 0.0))]
    maps = torch.zeros(8, 8, 7)
    maps[..., 2] = 1.0  # blue
    maps[0, :, 0:3] = torch.tensor([1.0, 0.0, 0.0])  # row v = 0 red
    maps[..., 5] = 0.5  # detail x
    rendered = render_views(geometry, [maps], clip_matrices(camera, 0.05, 10.0, "cpu"), view_matrices(camera, "cpu"), 32)
    assert rendered.mask.all()  # the 2 m wall fills the 85-degree view from 0.9 m
    red_rows = rendered.albedo[0, :, 16, 0] > 0.5
    if uv_origin == "top_left":
        assert red_rows[0] and not red_rows[-1]
    else:
        assert red_rows[-1] and not red_rows[0]
    normal = rendered.normal[0, 16, 16]
    assert normal[0] > 0.45 and abs(normal[1]) < 1e-4 and normal[2] > 0.8  # +x detail -> image right
    maps[..., 5], maps[..., 6] = 0.0, 0.5
    rendered = render_views(geometry, [maps], clip_matrices(camera, 0.05, 10.0, "cpu"), view_matrices(camera, "cpu"), 32)
    normal = rendered.normal[0, 16, 16]
    assert normal[1] > 0.45 and abs(normal[0]) < 1e-4  # +y detail -> image up, for both UV origins


def test_every_texel_a_camera_sees_receives_gradient(box_room_scene):
    config = TexturingConfig(iterations=14, normal_fraction=0.0, resolution=48, views_per_iteration=2,
                             texture_budget=3 * 64 * 64, max_cameras=24)
    result = texture_room(box_room_scene, TargetPrior({"albedo": (1.0, 0.5, 0.0), "material": (0.5, 0.5, 0.0)}),
                          "a room", config)
    assert len(result.plan.cameras) <= 28  # 14 iterations x 2 views: every camera was rendered at least once
    seen = sum(int(o.seen.sum()) for o in result.objects)
    reached = sum(int((o.seen & o.touched).sum()) for o in result.objects)
    atlas = sum(int(o.atlas.sum()) for o in result.objects)
    assert seen > 0.85 * atlas
    assert reached >= 0.99 * seen, f"{seen - reached} of {seen} seen texels got no gradient"
    assert result.gradient_coverage == pytest.approx(reached / seen)


def test_seam_dilation_fills_outside_the_layout_from_its_edge():
    values = torch.zeros(6, 6, 2)
    mask = torch.zeros(6, 6, dtype=torch.bool)
    mask[2:4, 2:4] = True
    values[2:4, 2:4] = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]])
    out = dilate(values, mask, passes=1)
    assert torch.equal(out[2:4, 2:4], values[2:4, 2:4])  # inside: untouched
    assert torch.allclose(out[1, 1], values[2, 2])  # a corner neighbour of one texel
    assert torch.allclose(out[1, 2], (values[2, 2] + values[2, 3]) / 2)  # mean of the filled neighbours
    assert torch.allclose(out[0, 0], values[mask].mean(0))  # beyond one pass: the layout's mean
    # The texture wraps around its edges ('repeat' addressing): column 5 touches column 0.
    columns = torch.zeros(4, 6, 1)
    columns[:, 0], columns[:, 2] = 1.0, 5.0
    stripes = torch.zeros(4, 6, dtype=torch.bool)
    stripes[:, [0, 2]] = True
    out = dilate(columns, stripes, passes=1)
    assert torch.equal(out[:, 5, 0], torch.ones(4))  # reached through the wrap from column 0
    assert torch.equal(out[:, 1, 0], torch.full((4,), 3.0))  # between the two stripes
    assert torch.equal(out[:, 4, 0], torch.full((4,), 3.0))  # not reached in one pass: the mean


def test_tiny_pipeline_room_writes_valid_files_for_every_profile(box_room_scene, tmp_path, gltf_validator):
    pipe = make_tiny_pipeline(seed=0)
    scene = assign_prompts(box_room_scene, {"Room": "white plaster walls and oak floor"})
    events = []
    config = TexturingConfig(iterations=4, resolution=32, views_per_iteration=2, texture_budget=3 * 48 * 48,
                             max_cameras=6)
    result = texture_room(scene, IntrinsiXPrior(pipe), "a bright living room", config,
                          on_progress=lambda *event: events.append(event))
    stages = [e[0] for e in events]
    assert [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]] == [
        "cameras", "texturing", "normal_detail", "dilating"]
    assert [e[1:] for e in events if e[0] == "texturing"] == [(1, 3), (2, 3), (3, 3)]
    assert [e[1:] for e in events if e[0] == "normal_detail"] == [(1, 1)]
    assert any("white plaster walls and oak floor" in p for p in result.prompts)  # the shell fills most views
    for obj in result.objects:
        for name in ("albedo", "roughness", "metallic", "normal"):
            assert torch.isfinite(getattr(obj, name)).all()
        assert torch.allclose(obj.normal.norm(dim=-1), torch.ones(obj.normal.shape[:2]), atol=1e-4)

    for profile in ("unreal", "godot", "gltf", "unity", "raw"):
        room = export_room(result, profile, metadata={"prompt": "a bright living room"})
        paths = write_room(room, tmp_path / profile)
        for name, exported in room.objects.items():
            manifest = json.loads((tmp_path / profile / name / "material.json").read_text())
            assert manifest["profile"] == profile and manifest["material"] == name
            assert manifest["resolution"]["width"] == result.scene.object(name).texture_size
            for entry in manifest["files"]:
                assert (tmp_path / profile / name / entry["name"]).stat().st_size == entry["bytes"]
        assert tmp_path / profile / "room.glb" in paths
    report = gltf_validator(tmp_path / "gltf" / "room.glb")
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"]
    assert report["issues"]["numWarnings"] == 0, report["issues"]["messages"]
    assert report["info"]["materialCount"] == 3 and report["info"]["totalTriangleCount"] == scene.triangle_count
    summary = json.loads((tmp_path / "gltf" / "room.json").read_text())
    assert summary["schema"] == "intrinsix.room/1" and summary["files"][0]["name"] == "room.glb"
    assert [o["uv_source"] for o in summary["objects"]] == ["xatlas"] * 3
    assert summary["coverage"] == pytest.approx(result.plan.coverage, abs=1e-6)
