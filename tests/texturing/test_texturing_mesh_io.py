"""Room files in and out: glTF/GLB and OBJ loading, existing UVs kept byte for byte through the whole
pipeline, xatlas atlases for objects without UVs, and clear errors for bad meshes."""

import numpy as np
import pytest
from texturing_testing import TargetPrior, accessor_bytes, cube, read_glb, write_glb

from intrinsix.texturing import MeshError, load_room, scene_from_arrays
from intrinsix.texturing.export import export_room, write_room
from intrinsix.texturing.optimize import TexturingConfig, texture_room


def _room_glb(path, uvs):
    """A room shell (a big inward box without UVs) + a cube with the given UVs, translated and scaled."""
    cube_positions, cube_triangles, _ = cube()
    shell_positions, shell_triangles, _ = cube(4.0)
    write_glb(path, [
        {"name": "walls", "positions": shell_positions + np.float32([0, 2, 0]), "triangles": shell_triangles[:, ::-1]},
        {"name": "crate", "positions": cube_positions, "triangles": cube_triangles, "uvs": uvs,
         "translation": (0.5, 0.4, -0.3), "scale": (0.8, 0.8, 0.8)},
    ])


def test_existing_uvs_stay_byte_equal_from_file_to_textured_glb(tmp_path, gltf_validator):
    _, _, uvs = cube()
    # Values that do not survive a v -> 1 - v round trip in float32 (what trimesh does on load).
    uvs = uvs + np.float32(1e-7) * np.arange(uvs.size, dtype=np.float32).reshape(uvs.shape)
    assert not np.array_equal((np.float32(1) - (np.float32(1) - uvs[:, 1])), uvs[:, 1])
    source = tmp_path / "room.glb"
    _room_glb(source, uvs)
    scene = load_room(source, {"crate": "a wooden crate"})
    crate = scene.object("crate")
    assert crate.uvs.tobytes() == uvs.tobytes() and crate.uv_origin == "top_left" and crate.prompt == "a wooden crate"
    assert np.allclose(crate.world_positions.mean(0), [0.5, 0.4, -0.3], atol=1e-6)
    assert scene.object("walls").uvs is None

    config = TexturingConfig(iterations=2, resolution=32, views_per_iteration=1, texture_budget=2 * 64 * 64,
                             max_cameras=4)
    result = texture_room(scene, TargetPrior({"albedo": (1, 0, 0), "material": (0.5, 0.5, 0)}), "a room", config)
    crate_out = result.scene.object("crate")
    assert crate_out.uvs.tobytes() == uvs.tobytes() and not crate_out.uv_generated
    walls = result.scene.object("walls")
    assert walls.uv_generated and walls.uvs.min() >= 0 and walls.uvs.max() <= 1
    # Every vertex of the atlas is a vertex of the original walls (only split along seams).
    originals = {tuple(p) for p in np.round(cube(4.0)[0] + np.float32([0, 2, 0]), 5)}
    assert {tuple(p) for p in np.round(walls.positions, 5)} == originals

    paths = write_room(export_room(result, "gltf"), tmp_path / "out")
    glb = (tmp_path / "out" / "room.glb").read_bytes()
    document, binary = read_glb(glb)
    node = next(n for n in document["nodes"] if n["name"] == crate.name)
    primitive = document["meshes"][node["mesh"]]["primitives"][0]
    assert accessor_bytes(document, binary, primitive["attributes"]["TEXCOORD_0"]) == uvs.tobytes()
    assert np.allclose(np.array(node["matrix"]).reshape(4, 4).T, crate.transform)
    report = gltf_validator(tmp_path / "out" / "room.glb")
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"]
    assert report["info"]["materialCount"] == 2 and report["info"]["drawCallCount"] == 2
    assert {p.name for p in paths} >= {"room.glb", "room.json", f"{crate.name}.glb", "material.json"}


def test_obj_objects_and_uvs_through_trimesh(tmp_path):
    source = tmp_path / "room.obj"
    source.write_text(
        "o floor\nv 0 0 0\nv 2 0 0\nv 2 0 2\nv 0 0 2\nvt 0.125 0.25\nvt 0.75 0.25\nvt 0.75 0.875\nvt 0.125 0.875\n"
        "f 1/1 3/3 2/2\nf 1/1 4/4 3/3\n"
        "o shelf\nv 0 1 0\nv 1 1 0\nv 1 2 0\nf 5 6 7\n")
    scene = load_room(source)
    assert sorted(o.source_name for o in scene) == ["floor", "shelf"]
    floor, shelf = scene.object("floor"), scene.object("shelf")
    assert floor.uv_origin == "bottom_left"
    assert np.array_equal(floor.uvs, np.float32([[0.125, 0.25], [0.75, 0.25], [0.75, 0.875], [0.125, 0.875]]))
    assert floor.positions.shape == (4, 3) and shelf.positions.shape == (3, 3) and shelf.uvs is None


def test_bad_meshes_give_clear_errors(tmp_path):
    positions = np.float32([[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    with pytest.raises(MeshError, match=r"has no triangles \(0 faces\)"):
        scene_from_arrays(positions, np.zeros((0, 3), np.int64))
    nan = positions.copy()
    nan[1, 2] = np.nan
    with pytest.raises(MeshError, match=r"1 of 3 vertices have NaN or infinite coordinates \(first: vertex 1\)"):
        scene_from_arrays(nan, np.array([[0, 1, 2]]))
    with pytest.raises(MeshError, match=r"all 2 triangles are degenerate \(zero area"):
        scene_from_arrays(np.float32([[0, 0, 0], [1, 0, 0], [2, 0, 0]]), np.array([[0, 1, 2], [0, 0, 1]]))
    with pytest.raises(MeshError, match=r"vertex index 7 is out of range; allowed 0\.\.2"):
        scene_from_arrays(positions, np.array([[0, 1, 7]]))

    # The same through files: a glb whose only object has NaN vertices, an OBJ without faces.
    bad = tmp_path / "nan.glb"
    write_glb(bad, [{"name": "broken", "positions": nan, "triangles": [[0, 1, 2]]}])
    with pytest.raises(MeshError, match=r"object 'broken': 1 of 3 vertices have NaN"):
        load_room(bad)
    empty = tmp_path / "points.obj"
    empty.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    with pytest.raises(MeshError, match=r"no triangle meshes|no triangles"):
        load_room(empty)
    with pytest.raises(MeshError, match=r"does not exist"):
        load_room(tmp_path / "missing.glb")


def test_unknown_object_prompt_lists_the_objects(tmp_path):
    source = tmp_path / "room.glb"
    _room_glb(source, cube()[2])
    with pytest.raises(KeyError, match=r"no object named 'sofa'; objects: \['Walls \(walls\)', 'Crate \(crate\)'\]"):
        load_room(source, {"sofa": "green velvet"})
