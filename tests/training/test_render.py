"""Scene geometry (tangents from UVs) and the training-view renderer (rasterize + texture + shade)."""

import math

import pytest
import torch

from intrinsix.training.data import geometry, materials, render
from intrinsix.training.data.scene import Camera, sample_cameras, sample_scene


def test_quad_tangent_frame_follows_uv():
    # Floor quad: u along +x, v along -z, normal +y -> tangent +x, bitangent = w * (n x t) = -z.
    floor = geometry.quad((-1, 0, 1), (2, 0, 0), (0, 0, -2), tile=0.5)
    t = geometry.tangents(floor)
    torch.testing.assert_close(t[:, :3], torch.tensor([1.0, 0.0, 0.0]).expand(t.shape[0], 3))
    assert torch.all(t[:, 3] == 1.0)
    assert float(floor.uv[:, 0].max()) == pytest.approx(4.0)  # 2 m / 0.5 m tiles
    # Mirrored UVs flip the handedness.
    mirrored = geometry.quad((-1, 0, 1), (2, 0, 0), (0, 0, -2), tile=0.5)
    mirrored.uv[:, 1] = -mirrored.uv[:, 1]
    assert torch.all(geometry.tangents(mirrored)[:, 3] == -1.0)


def test_sphere_tangents_are_unit_perpendicular_and_along_u():
    s = geometry.sphere((0, 1, 0), 0.5, tile=0.5, rows=12, cols=24)
    t = geometry.tangents(s)
    torch.testing.assert_close(t[:, :3].norm(dim=-1), torch.ones(t.shape[0]))
    assert float((t[:, :3] * s.normal).sum(-1).abs().max()) < 1e-5
    # Away from the poles the tangent is the direction of growing u (around the +y axis).
    v = s.uv[:, 1] / float(s.uv[:, 1].max())
    middle = (v > 0.2) & (v < 0.8)
    phi = torch.atan2(s.normal[:, 0], s.normal[:, 2])
    along_u = torch.stack([torch.cos(phi), torch.zeros_like(phi), -torch.sin(phi)], -1)
    assert float((t[middle, :3] * along_u[middle]).sum(-1).min()) > 0.99


def flat_material(normal_ts) -> materials.Material:
    n = torch.tensor(normal_ts, dtype=torch.float32)
    n = (n / n.norm()).expand(16, 16, 3).contiguous()
    spec = materials.sample_spec(0, family="plastic")
    return materials.Material(torch.full((16, 16, 3), 0.5), torch.full((16, 16, 1), 0.5), torch.zeros(16, 16, 1),
                              torch.zeros(16, 16, 1), n, 0.0, "test", spec)


def empty_room():
    return sample_scene(4, material_size=32, max_boxes=0, max_spheres=0)


def test_back_wall_seen_head_on_normal_map_depth_and_mask():
    scene = empty_room()
    width, height, depth = scene.size
    camera = Camera((0.0, 1.5, 0.0), (0.0, 1.5, -1.0))  # looks straight at the back wall (z = -d/2)
    back_wall_part = 2
    for normal_ts in ((0.0, 0.0, 1.0), (0.6, 0.0, 0.8), (0.0, 0.6, 0.8)):
        scene.materials[scene.parts[back_wall_part].material] = flat_material(normal_ts)
        maps = render.render_view(scene, camera, (24, 32))
        centre = maps.normal[10:14, 14:18].reshape(-1, 3)
        # Camera axes = wall tangent frame (u right, v up): camera normal = tangent-space normal,
        # which also checks the row flip between material images and texture addressing.
        torch.testing.assert_close(centre, torch.tensor(normal_ts).expand_as(centre), atol=1e-4, rtol=0)
    assert torch.all(maps.mask == 1.0)  # a closed room covers every pixel
    torch.testing.assert_close(maps.depth[12, 16, 0], torch.tensor(depth / 2 * 1000.0), rtol=1e-5, atol=0.05)
    assert torch.all(torch.isfinite(maps.image)) and float(maps.image.min()) >= 0.0
    torch.testing.assert_close(maps.normal.norm(dim=-1), torch.ones(24, 32), atol=1e-5, rtol=0)
    assert torch.all(maps.material[..., 2] == 0.0)


def test_rendered_views_are_deterministic_and_consistent():
    scene = sample_scene(2, material_size=32)
    camera = sample_cameras(scene, 1, 2)[0]
    a = render.render_view(scene, camera, (18, 24))
    b = render.render_view(sample_scene(2, material_size=32), sample_cameras(scene, 1, 2)[0], (18, 24))
    for key in ("image", "albedo", "material", "normal", "depth", "mask"):
        assert torch.equal(getattr(a, key), getattr(b, key)), key
    assert int(a.material_pixels.sum()) == 18 * 24
    valid = a.mask[..., 0] > 0
    assert float(a.depth[valid].min()) > 0 and torch.all(torch.isfinite(a.depth[valid]))
    assert float(a.albedo.min()) >= 0 and float(a.albedo.max()) <= 1


def test_image_rows_go_top_down_floor_below_ceiling():
    scene = empty_room()
    scene.materials = [flat_material((0.0, 0.0, 1.0)) for _ in scene.materials]
    width, height, depth = scene.size
    camera = Camera((0.0, 1.5, depth / 2 - 0.5), (0.0, 1.5, depth / 2 - 1.5))  # level, looking at the far wall
    maps = render.render_view(scene, camera, (48, 64))
    rows = torch.arange(48, dtype=torch.float32)[:, None].expand(48, 64)
    floor = maps.normal[..., 1] > 0.99  # world +y = camera +y for a level camera
    ceiling = maps.normal[..., 1] < -0.99
    assert floor.any() and ceiling.any()
    assert float(rows[floor].min()) > float(rows[ceiling].max())  # row 0 is the top of the image
    # Depth grows toward the far wall's horizon row, and the wall's z-depth is constant.
    wall = maps.normal[..., 2] > 0.99
    torch.testing.assert_close(maps.depth[wall], torch.full_like(maps.depth[wall], (depth - 0.5) * 1000.0),
                               rtol=1e-5, atol=0.1)


def test_cameras_stay_in_the_room_and_outside_objects():
    scene = sample_scene(6, material_size=16)
    width, height, depth = scene.size
    for cam in sample_cameras(scene, 20, 6):
        x, y, z = cam.eye
        assert abs(x) < width / 2 and 0 < y < height and abs(z) < depth / 2
        for lo, hi in scene.obstacles:
            assert not all(lo[i] - 0.3 < cam.eye[i] < hi[i] + 0.3 for i in range(3))
        d = torch.tensor(cam.target) - torch.tensor(cam.eye)
        assert -math.sin(math.radians(35.5)) < float(d[1] / d.norm()) < math.sin(math.radians(10.5))


def test_scene_materials_respect_the_allowed_combinations():
    from intrinsix.training.data import vocabulary

    train, _ = vocabulary.split_combinations()
    allowed = set(train)
    for seed in range(3):
        scene = sample_scene(seed, material_size=16, combinations=train)
        for m in scene.materials:
            assert (m.spec.family, m.spec.colour, m.spec.finish) in allowed
        roles = {p.role for p in scene.parts}
        assert {"floor", "ceiling", "wall", "box"} <= roles
