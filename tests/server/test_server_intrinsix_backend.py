"""The production backend (generator + pbr export) behind the real server, on the tiny random
IntrinsiX model: what the server streams is byte for byte what the backend exported."""

from __future__ import annotations

import grpc
import pytest
from server_harness import assemble, generate_request, kinds, raw_mesh, room_requests

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


def test_room_texturing_is_unimplemented_with_this_backend(make_server):
    srv = make_server(backend_class=IntrinsiXBackend, backend_options={"tiny_random_seed": 0})
    data = raw_mesh([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [(0, 1, 2)], None)
    with pytest.raises(grpc.RpcError) as error:
        list(srv.stub().TextureRoom(room_requests(data, vertex_count=3, triangle_count=1, has_uvs=False), timeout=10))
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "room texturing is not available" in error.value.details()
