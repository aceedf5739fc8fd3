"""Malformed requests: each is refused with the right status and a message that names the field
and the allowed range, and the server keeps serving."""

from __future__ import annotations

import hashlib
import math
import random

import grpc
import pytest
from server_harness import (
    QUAD_POSITIONS,
    QUAD_TRIANGLES,
    QUAD_UVS,
    generate_request,
    kinds,
    raw_mesh,
    room_requests,
)

from intrinsix.server.protocol import job_pb2, service_pb2, texture_pb2

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        result = call()
        if not isinstance(result, service_pb2.GetJobResponse | service_pb2.ListJobsResponse):
            list(result)
    return error.value


def _set(**fields):
    def change(request: service_pb2.GenerateRequest) -> None:
        for name, value in fields.items():
            if name == "client_request_id":
                request.client_request_id = value
            elif name in ("formats", "branch_prompts"):
                getattr(request.params, name).extend(value)
            else:
                setattr(request.params, name, value)
    return change


GENERATE_CASES = [
    ("empty prompt", _set(prompt=""), "params.prompt: must not be empty", "1..2000 characters"),
    ("whitespace prompt", _set(prompt="   \n"), "params.prompt: must not be empty", "1..2000 characters"),
    ("100k prompt", _set(prompt="x" * 100_000), "params.prompt: 100000 characters is too long", "1..2000"),
    ("control character", _set(prompt="red\x00brick"), "params.prompt: control character U+0000 at position 3", ""),
    ("size 0", _set(width=0), "params.width: 0 is out of range", "64..2048 pixels in multiples of 16"),
    ("size 100000", _set(height=100_000), "params.height: 100000 is out of range", "64..2048"),
    ("size not a multiple", _set(width=100), "params.width: 100 is out of range", "multiples of 16"),
    ("steps 0", _set(steps=0), "params.steps: 0 is out of range", "1..100 steps"),
    ("steps 1000", _set(steps=1000), "params.steps: 1000 is out of range", "1..100 steps"),
    ("guidance NaN", _set(guidance=math.nan), "params.guidance: nan is not a number", "0..20"),
    ("guidance negative", _set(guidance=-1.0), "params.guidance: -1 is out of range", "0..20"),
    ("profile missing", _set(profile=0), "params.profile: required", "UNREAL (1), GODOT (2), GLTF (3), UNITY (4), RAW (5)"),
    ("profile unknown", _set(profile=99), "params.profile: unknown value 99", "UNREAL (1)"),
    ("format unknown", _set(formats=[42]), "params.formats[0]: unknown value 42", "PNG8 (1), PNG16 (2), GLB (5), GLTF (6)"),
    ("format not choosable", _set(formats=[texture_pb2.FILE_FORMAT_JSON]), "params.formats[0]: JSON is not a choosable", "PNG8 (1)"),
    ("path-like material name", _set(material_name="../../etc/passwd"), "params.material_name: '../../etc/passwd' is not allowed",
     "1..64 ASCII letters, digits and '_'"),
    ("material name with slash", _set(material_name="a/b"), "params.material_name: 'a/b' is not allowed", "starting with a letter"),
    ("two branch prompts", _set(prompt="", branch_prompts=["a", "b"]), "params.branch_prompts: 2 prompts given", "exactly 3"),
    ("prompt and branch prompts", _set(branch_prompts=["a", "b", "c"]), "params.prompt: give either prompt or branch_prompts", ""),
    ("negative without cfg", _set(negative_prompt="blurry"), "params.true_cfg_scale: must be > 1 when negative_prompt", "1..20"),
    ("cfg without negative", _set(true_cfg_scale=4.0), "params.negative_prompt: required when true_cfg_scale > 1", "1..2000"),
    ("preview_every > steps", _set(preview_every=9), "params.preview_every: 9 is out of range", "0..4"),
    ("preview size too big", _set(preview_size=4096), "params.preview_size: 4096 is out of range", "16..512 pixels"),
    ("request id too long", _set(client_request_id="r" * 500), "client_request_id: 500 characters is too long", "0..128"),
    ("request id not ascii", _set(client_request_id="caf\u00e9"), "client_request_id: 'café' has a character", "0x20..0x7E"),
]


def test_every_malformed_generate_request_is_refused_precisely(server):
    stub = server.stub()
    for label, change, start, allowed in GENERATE_CASES:
        request = generate_request()
        change(request)
        error = _refused(lambda: stub.Generate(request, timeout=10))
        assert error.code() == INVALID, (label, error.code(), error.details())
        assert error.details().startswith(start), (label, error.details())
        assert allowed in error.details(), (label, error.details())
    assert len(GENERATE_CASES) >= 15
    assert not server.backend.calls  # nothing reached the model
    # ... and the server keeps serving.
    assert kinds(list(stub.Generate(generate_request(), timeout=10)))[-1] == "completed"


def test_missing_params_and_bad_job_ids(server):
    stub = server.stub()
    error = _refused(lambda: stub.Generate(service_pb2.GenerateRequest(), timeout=10))
    assert error.code() == INVALID and error.details() == "params: required"
    for bad in ("../../etc/passwd", "", "ABCDEF" * 6, "0" * 31):
        error = _refused(lambda: stub.WatchJob(service_pb2.WatchJobRequest(job_id=bad), timeout=10))
        assert error.code() == INVALID and "job_id:" in error.details() and "32 lowercase hex digits" in error.details()
    error = _refused(lambda: stub.GetJob(service_pb2.GetJobRequest(job_id="0" * 32), timeout=10))
    assert error.code() == grpc.StatusCode.NOT_FOUND and "0" * 32 in error.details()
    error = _refused(lambda: stub.ListJobs(service_pb2.ListJobsRequest(page_size=5000), timeout=10))
    assert error.code() == INVALID and "page_size: 5000 is out of range; allowed 1..1000" in error.details()
    error = _refused(lambda: stub.ListJobs(service_pb2.ListJobsRequest(page_token="not-a-token"), timeout=10))
    assert error.code() == INVALID and error.details().startswith("page_token:")


def _mesh(positions=QUAD_POSITIONS, triangles=QUAD_TRIANGLES, uvs=QUAD_UVS) -> bytes:
    return raw_mesh(positions, triangles, uvs)


ROOM_CASES = [
    ("NaN vertex", dict(data=_mesh(positions=[(0, 0, 0), (1, 0, 0), (math.nan, 1, 0), (0, 1, 0)])),
     "mesh.positions: 1 vertices have NaN or infinite coordinates (first: vertex 2)"),
    ("infinite vertex", dict(data=_mesh(positions=[(math.inf, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)])),
     "mesh.positions: 1 vertices have NaN or infinite coordinates (first: vertex 0)"),
    ("index out of range", dict(data=_mesh(triangles=[(0, 1, 2), (0, 9, 3)])),
     "mesh.indices: index 9 in triangle 1 is out of range; allowed 0..3 for 4 vertices"),
    ("NaN uv", dict(data=_mesh(uvs=[(0, 0), (1, math.nan), (1, 1), (0, 1)])),
     "mesh.uvs: 1 vertices have NaN or infinite UVs (first: vertex 1)"),
    ("size does not match layout", dict(data=b"\x01" * 100),
     "start.mesh.byte_size: 100 does not match the RAW layout of 4 vertices, 2 triangles, has_uvs=true; expected 104 bytes"),
    ("oversized upload", dict(data=_mesh(), byte_size=10 << 20),
     "start.mesh.byte_size: 10485760 bytes is out of range; allowed 1..65536 bytes"),
    ("more bytes than declared", dict(data=_mesh() + b"\x00" * 8, byte_size=104),
     "mesh_chunk[0].data: the upload exceeds the declared mesh.byte_size of 104 bytes"),
    ("checksum mismatch", dict(data=_mesh(), sha256="0" * 64), "start.mesh.sha256: does not match the uploaded bytes"),
    ("bad checksum text", dict(data=_mesh(), sha256="xyz"), "start.mesh.sha256: must be the SHA-256"),
    ("too many vertices", dict(data=_mesh(), vertex_count=5000),
     "start.mesh.vertex_count: 5000 is out of range; allowed 3..1000 vertices"),
    ("zero triangles", dict(data=_mesh(), triangle_count=0), "start.mesh.triangle_count: 0 is out of range; allowed 1..2000"),
    ("bad texture size", dict(data=_mesh(), texture_size=100000), "start.params.texture_size: 100000 is out of range"),
    ("path-like material", dict(data=_mesh(), material_name="..\\..\\win"), "start.params.material_name: '..\\\\..\\\\win' is not allowed"),
]


def test_malformed_room_uploads_are_refused_precisely(make_server):
    from intrinsix.server import Limits

    srv = make_server(limits=Limits(max_mesh_bytes=65536, max_vertices=1000, max_triangles=2000))
    stub = srv.stub()
    for label, kwargs, start in ROOM_CASES:
        error = _refused(lambda: stub.TextureRoom(room_requests(**kwargs), timeout=10))
        assert error.code() == INVALID, (label, error.code(), error.details())
        assert error.details().startswith(start), (label, error.details())

    # Garbage bytes of exactly the declared size: random uint32 "indices" fall outside the mesh.
    garbage = random.Random(1).randbytes(104)
    error = _refused(lambda: stub.TextureRoom(room_requests(garbage), timeout=10))
    assert error.code() == INVALID and error.details().startswith(("mesh.positions:", "mesh.indices:"))

    def out_of_order():
        data = _mesh()
        requests = list(room_requests(data, chunk=52))
        return iter([requests[0], requests[2], requests[1]])

    error = _refused(lambda: stub.TextureRoom(out_of_order(), timeout=10))
    assert error.code() == INVALID and error.details().startswith("mesh_chunk[0].offset: 52 is not where the previous")

    def chunk_first():
        return iter(list(room_requests(_mesh()))[1:])

    error = _refused(lambda: stub.TextureRoom(chunk_first(), timeout=10))
    assert error.code() == INVALID and error.details().startswith("start: the first TextureRoomRequest must carry")

    error = _refused(lambda: stub.TextureRoom(iter([]), timeout=10))
    assert error.code() == INVALID and "the upload was empty" in error.details()

    # A single message beyond the transport limit is refused by gRPC before it is buffered.
    def huge_chunk():
        data = b"\x00" * (2 << 20)
        requests = room_requests(data, vertex_count=3, triangle_count=1, has_uvs=False, byte_size=48)
        yield next(requests)
        yield service_pb2.TextureRoomRequest(mesh_chunk=service_pb2.MeshChunk(offset=0, data=data))

    error = _refused(lambda: stub.TextureRoom(huge_chunk(), timeout=10))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

    assert not srv.backend.calls
    good = list(stub.TextureRoom(room_requests(_mesh()), timeout=10))
    assert kinds(good)[-1] == "completed"


def test_valid_room_upload_runs_a_job_with_the_exact_mesh(make_server):
    import json

    import numpy as np

    srv = make_server(chunk_size=4096)
    data = _mesh()
    events = list(srv.stub().TextureRoom(room_requests(data, chunk=40, steps=3), timeout=10))
    assert kinds(events)[0] == "accepted" and kinds(events)[-1] == "completed"
    manifest = json.loads(events[-1].completed.manifest_json)
    positions = np.array(QUAD_POSITIONS, np.float32)
    triangles = np.array(QUAD_TRIANGLES, np.int64)
    uvs = np.array(QUAD_UVS, np.float32)
    assert manifest["mesh_sha256"] == hashlib.sha256(positions.tobytes() + triangles.tobytes() + uvs.tobytes()).hexdigest()
    info = srv.stub().GetJob(service_pb2.GetJobRequest(job_id=events[0].job_id)).job
    assert info.kind == job_pb2.JOB_KIND_TEXTURE_ROOM and info.room.texture_size == 64 and info.room.steps == 3
    # Rooms default to true CFG 5 against the empty prompt (texture-room's default), unlike Generate.
    assert info.room.true_cfg_scale == 5.0 and info.room.negative_prompt == ""


def test_room_true_cfg_default_is_the_texturers():
    from intrinsix.server.validation import ROOM_TRUE_CFG_SCALE
    from intrinsix.texturing.optimize import DEFAULT_TRUE_CFG_SCALE

    assert ROOM_TRUE_CFG_SCALE == DEFAULT_TRUE_CFG_SCALE


def test_room_texturing_unavailable_is_unimplemented_after_validation(make_server):
    srv = make_server(backend_options={"room": "0"})
    stub = srv.stub()
    error = _refused(lambda: stub.TextureRoom(room_requests(_mesh(positions=[(0, 0, 0)] * 3 + [(math.nan, 0, 0)])),
                                              timeout=10))
    assert error.code() == INVALID  # bad input is still reported as such
    error = _refused(lambda: stub.TextureRoom(room_requests(_mesh()), timeout=10))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED and "room texturing is not available" in error.details()
    assert not stub.GetServerInfo(service_pb2.GetServerInfoRequest()).room_texturing_available


def test_generate_true_cfg_defaults_to_the_models():
    """A model whose defaults guide (the demo model) gets true CFG against the empty prompt when the
    request leaves true_cfg_scale unset; an explicit scale above 1 still needs a negative prompt."""
    from intrinsix.server.backend import ModelDescription
    from intrinsix.server.config import Limits
    from intrinsix.server.validation import InvalidArgument, validate_generate

    def model(cfg):
        return ModelDescription("m", "", 4, 1.0, 64, 64, True, False, default_true_cfg_scale=cfg)

    params, stored = validate_generate(generate_request(), Limits(), model(3.0))
    assert params.true_cfg_scale == 3.0 and params.negative_prompt is None and stored.true_cfg_scale == 3.0
    params, _ = validate_generate(generate_request(negative_prompt="blue"), Limits(), model(3.0))
    assert params.true_cfg_scale == 3.0 and params.negative_prompt == "blue"
    params, _ = validate_generate(generate_request(true_cfg_scale=1.0), Limits(), model(3.0))
    assert params.true_cfg_scale == 1.0
    params, _ = validate_generate(generate_request(), Limits(), model(1.0))
    assert params.true_cfg_scale == 1.0
    with pytest.raises(InvalidArgument, match="params.negative_prompt: required when true_cfg_scale > 1"):
        validate_generate(generate_request(true_cfg_scale=4.0), Limits(), model(3.0))
