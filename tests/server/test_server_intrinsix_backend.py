"""The production backend (generator + pbr export) behind the real server, on the tiny random
IntrinsiX model: what the server streams is byte for byte what the backend exported."""

from __future__ import annotations

import pytest
from server_harness import QUAD_POSITIONS, QUAD_TRIANGLES, assemble, generate_request, kinds, raw_mesh, room_requests

try:  # skipped only where the model packages are not importable
    import intrinsix.generator  # noqa: F401
    from intrinsix.pbr import export  # noqa: F401
except ImportError as exc:  # pragma: no cover
    pytest.skip(f"intrinsix.generator / intrinsix.pbr not importable: {exc}", allow_module_level=True)

from intrinsix.server.backend import GenerateParams, JobCancelled
from intrinsix.server.intrinsix_backend import IntrinsiXBackend, export_options
from intrinsix.server.protocol import service_pb2

PROFILES = ("unreal", "godot", "gltf", "unity", "raw")


def _direct(prompt: str, seed: int, profile: str, tileable: bool = False):
    backend = IntrinsiXBackend("cpu", tiny_random_seed=0)
    backend.load()
    params = GenerateParams(prompt=prompt, negative_prompt=None, seed=seed, steps=2, guidance=3.5, true_cfg_scale=1.0,
                            width=64, height=64, tileable=tileable, profile=profile, formats=(),
                            material_name="Bricks", preview_every=0, preview_size=32)
    return backend.generate(params, lambda *a: None, lambda *a: None, lambda: False)


def test_served_files_equal_the_backend_export_for_every_profile(make_server):
    srv = make_server(backend_class=IntrinsiXBackend, backend_options={"tiny_random_seed": 0})
    stub = srv.stub()
    for profile in PROFILES:
        events = list(stub.Generate(generate_request("red bricks", seed=5, steps=2, size=64, profile=profile,
                                                     preview_every=1, preview_size=32, material_name="Bricks"),
                                    timeout=60))
        assert kinds(events)[-1] == "completed", (profile, events[-1])
        files = assemble(events)
        direct = _direct("red bricks", 5, profile)
        assert files == {f.name: f.data for f in direct.files}, profile
        previews = [e.preview for e in events if e.WhichOneof("event") == "preview"]
        assert [p.step for p in previews] == [1, 2]
        assert all(i.png.startswith(b"\x89PNG") and (i.width, i.height) == (32, 32) for p in previews for i in p.images)
    assert srv.stub().ListModels(service_pb2.ListModelsRequest()).models[0].name == "intrinsix-tiny-random"


def test_seed_and_tiling_change_the_maps():
    a = {f.name: f.sha256 for f in _direct("red bricks", 1, "raw").files}
    b = {f.name: f.sha256 for f in _direct("red bricks", 2, "raw").files}
    tiled = _direct("red bricks", 1, "raw", tileable=True)
    assert a["Bricks_albedo.exr"] != b["Bricks_albedo.exr"]
    assert all(f.tiling for f in tiled.files) and tiled.file("Bricks_albedo.exr").sha256 != a["Bricks_albedo.exr"]


def test_cancel_inside_the_pipeline_step_callback():
    backend = IntrinsiXBackend("cpu", tiny_random_seed=0)
    backend.load()
    steps = []
    params = GenerateParams(prompt="x", negative_prompt=None, seed=1, steps=6, guidance=3.5, true_cfg_scale=1.0,
                            width=64, height=64, tileable=False, profile="raw", formats=(), material_name="X",
                            preview_every=0, preview_size=32)
    with pytest.raises(JobCancelled):
        backend.generate(params, lambda stage, step, total: steps.append(step), lambda *a: None,
                         lambda: len(steps) >= 2)
    assert steps == [1, 2]  # stopped at the step after the request


def test_export_options_from_preferred_formats():
    assert export_options(()) == {"normal_bits": 8, "gltf_layout": "glb"}
    assert export_options(("png16",)) == {"normal_bits": 16, "gltf_layout": "glb"}
    assert export_options(("png8", "png16", "gltf")) == {"normal_bits": 8, "gltf_layout": "gltf"}
    assert export_options(("glb", "gltf", "png16", "png8")) == {"normal_bits": 16, "gltf_layout": "glb"}


def test_room_jobs_run_the_texturer(make_server):
    """TextureRoom on the tiny model: progress through the texturer's stages, previews, the object's
    texture set + <Name>_room.glb, and uploaded UVs kept byte for byte in that .glb."""
    import json
    import struct

    import numpy as np

    from intrinsix.kernels import meshes

    srv = make_server(backend_class=IntrinsiXBackend, backend_options={"tiny_random_seed": 0})
    stub = srv.stub()
    assert stub.GetServerInfo(service_pb2.GetServerInfoRequest()).room_texturing_available
    positions, triangles, _ = meshes.box_room(size=(4.0, 2.5, 3.0), boxes=1, subdivisions=1)
    data = raw_mesh(positions.tolist(), triangles.tolist(), None)
    events = list(stub.TextureRoom(room_requests(data, vertex_count=positions.shape[0],
                                                 triangle_count=triangles.shape[0], has_uvs=False, steps=1,
                                                 preview_every=1, preview_size=32, material_name="Plaster"),
                                   timeout=120))
    assert kinds(events)[-1] == "completed", events[-1]
    files = assemble(events)
    assert set(files) == {"Plaster_albedo.png", "Plaster_normal.png", "Plaster_orm.png", "Plaster_height.exr",
                          "Plaster_room.glb", "material.json"}
    manifest = json.loads(files["material.json"])
    assert manifest["room"]["iterations"] == 20 and manifest["room"]["coverage"] > 0.8
    assert [f["name"] for f in manifest["files"]][-1] == "Plaster_room.glb"
    stages = [e.progress.stage for e in events if e.WhichOneof("event") == "progress"]
    order = [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]]
    assert order[order.index("cameras"):order.index("exporting") + 1] == [
        "cameras", "texturing", "normal_detail", "dilating", "exporting"]
    previews = [e.preview for e in events if e.WhichOneof("event") == "preview"]
    assert [(p.step, p.total) for p in previews] == [(1, 1)]
    assert all(i.png.startswith(b"\x89PNG") and (i.width, i.height) == (32, 32) for i in previews[0].images)

    uvs = [(0.125, 0.5), (1.0, 0.5), (1.0, 0.1), (0.125, 0.1)]
    events = list(stub.TextureRoom(room_requests(raw_mesh(QUAD_POSITIONS, QUAD_TRIANGLES, uvs), steps=1,
                                                 material_name="Quad"), timeout=120))
    assert kinds(events)[-1] == "completed", events[-1]
    glb = assemble(events)["Quad_room.glb"]
    (json_length,) = struct.unpack("<I", glb[12:16])
    document, binary = json.loads(glb[20:20 + json_length]), glb[28 + json_length:]
    view = document["bufferViews"][document["accessors"][
        document["meshes"][0]["primitives"][0]["attributes"]["TEXCOORD_0"]]["bufferView"]]
    stored = binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]
    assert stored == np.array(uvs, "<f4").tobytes()


def test_room_job_stops_at_the_iteration_after_a_cancel():
    import numpy as np

    from intrinsix.server.backend import RoomMesh, RoomParams

    backend = IntrinsiXBackend("cpu", tiny_random_seed=0)
    backend.load()
    params = RoomParams(prompt="plaster", negative_prompt=None, seed=1, steps=2, guidance=3.5, true_cfg_scale=1.0,
                        texture_size=64, profile="raw", formats=(), material_name="Plaster", preview_every=0,
                        preview_size=32)
    mesh = RoomMesh(positions=np.float32([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]),
                    triangles=np.array([[0, 1, 2], [0, 2, 3]]), uvs=None)
    seen = []
    with pytest.raises(JobCancelled):
        backend.texture_room(params, mesh, lambda stage, step, total: seen.append((stage, step)), lambda *a: None,
                             lambda: ("texturing", 3) in seen)
    assert seen[-1] == ("texturing", 3)  # no iteration after the one that saw the request
