"""Texel density from surface area and the budget; xatlas atlases for objects without UVs."""

import math

import numpy as np
import pytest
import torch
from texturing_testing import cube

from intrinsix.kernels import rasterize_uv
from intrinsix.texturing.atlas import make_atlas, plan_texture_sizes, prepare_scene, surface_area, texel_density
from intrinsix.texturing.scene import scene_from_arrays


def test_sizes_follow_surface_area_within_the_budget(box_room_scene):
    budget = 256 * 256
    sizes = plan_texture_sizes(box_room_scene, budget)
    assert sum(s * s for s in sizes) <= budget
    assert sum(s * s for s in sizes) >= 0.85 * budget  # rounding to multiples of 16 leaves little unused
    assert all(s % 16 == 0 and s >= 32 for s in sizes)
    # Equal density: texels^2 per m^2 agree between objects up to the rounding of the sides.
    prepared = prepare_scene(box_room_scene, budget)
    densities = [texel_density(o) for o in prepared]
    assert max(densities) / min(densities) < 1.35, densities
    areas = [surface_area(o) for o in box_room_scene]
    assert sizes[int(np.argmax(areas))] == max(sizes)  # the room shell gets the biggest map


def test_one_object_gets_the_whole_budget_and_existing_uv_area_counts():
    positions, triangles, uvs = cube()
    full = scene_from_arrays(positions, triangles, uvs=uvs)
    assert plan_texture_sizes(full, 512 * 512) == [512]
    # Two equal cubes, one whose UVs use a quarter of the area: it needs twice the side for the same density.
    small_uvs = uvs * 0.5
    scene = scene_from_arrays(np.concatenate([positions, positions + 3]), np.concatenate([triangles, triangles + 24]),
                              np.repeat([0, 1], 12), np.concatenate([uvs, small_uvs]))
    a, b = plan_texture_sizes(scene, 2 * 256 * 256)
    assert abs(b / a - 2.0) < 0.15, (a, b)
    with pytest.raises(ValueError, match=r"budget_texels must be an int >= 32\^2 x objects = 2048"):
        plan_texture_sizes(scene, 1000)


def test_xatlas_layout_is_inside_the_unit_square_without_overlaps():
    positions, triangles, _ = cube(2.0)
    scene = scene_from_arrays(positions, triangles)
    obj = make_atlas(scene.objects[0], 128)
    assert obj.uv_generated and obj.texture_size == 128 and obj.uv_origin == "top_left"
    assert obj.uvs.min() >= 0.0 and obj.uvs.max() <= 1.0
    assert obj.triangles.shape == triangles.shape
    # Charts do not overlap: rasterising every triangle on its own covers as many texels as all at once.
    uv = torch.from_numpy(obj.uvs)
    tri = torch.from_numpy(obj.triangles).int()
    union = int((rasterize_uv(uv, tri, 128)[..., 3] > 0).sum())
    separate = sum(int((rasterize_uv(uv, tri[i:i + 1], 128)[..., 3] > 0).sum()) for i in range(tri.shape[0]))
    assert separate == union and union > 0.5 * 128 * 128
    # Each triangle keeps its shape: UV area proportional to surface area (one texel density).
    p = obj.positions.astype(np.float64)
    surface = 0.5 * np.linalg.norm(np.cross(p[obj.triangles[:, 1]] - p[obj.triangles[:, 0]],
                                            p[obj.triangles[:, 2]] - p[obj.triangles[:, 0]]), axis=1)
    u = obj.uvs.astype(np.float64)
    d1, d2 = u[obj.triangles[:, 1]] - u[obj.triangles[:, 0]], u[obj.triangles[:, 2]] - u[obj.triangles[:, 0]]
    uv_area = 0.5 * np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])
    ratio = uv_area / surface
    assert ratio.max() / ratio.min() < 1.1 and math.isfinite(ratio.sum())
