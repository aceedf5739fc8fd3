"""Job streams: event order, monotonic progress, previews, byte-exact files for every profile."""

from __future__ import annotations

import hashlib
import json

import pytest
from fake_texture_backend import expected_files
from server_harness import assemble, generate_request, kinds

from intrinsix.server.protocol import job_pb2, service_pb2, texture_pb2


def _check_order(events) -> None:
    """accepted, (progress|preview)*, (header, chunk+)*, completed."""
    names = kinds(events)
    assert names[0] == "accepted"
    assert names[-1] == "completed"
    first_header = names.index("texture_header")
    assert set(names[1:first_header]) <= {"progress", "preview"}
    body = names[first_header:-1]
    assert set(body) == {"texture_header", "texture_chunk"}
    for i, name in enumerate(body):  # every header is followed by at least one chunk
        if name == "texture_header":
            assert body[i + 1] == "texture_chunk"


def test_event_order_progress_and_previews(server):
    events = list(server.stub().Generate(generate_request(steps=6, preview_every=2, client_request_id="req-1"), timeout=20))
    _check_order(events)
    job_id = events[0].job_id
    assert len(job_id) == 32 and all(e.job_id == job_id for e in events)
    assert all(e.client_request_id == "req-1" for e in events)
    assert events[0].accepted.seed == 7 and not events[0].accepted.reattached

    progress = [e.progress for e in events if e.WhichOneof("event") == "progress"]
    overall = [p.overall for p in progress]
    assert overall == sorted(overall), overall
    assert overall[-1] == 1.0 and all(0.0 <= v < 1.0 for v in overall[:-1])
    denoise = [p.step for p in progress if p.stage == "denoising"]
    assert denoise == [1, 2, 3, 4, 5, 6] and all(p.total == 6 for p in progress if p.stage == "denoising")
    stages = [p.stage for p in progress]
    assert stages.index("denoising") < stages.index("decoding") < stages.index("exporting") < stages.index("storing")

    previews = [e.preview for e in events if e.WhichOneof("event") == "preview"]
    assert [p.step for p in previews] == [2, 4, 6]
    for preview in previews:
        assert [i.branch for i in preview.images] == [job_pb2.BRANCH_ALBEDO, job_pb2.BRANCH_MATERIAL, job_pb2.BRANCH_NORMAL]
        for image in preview.images:
            assert image.png.startswith(b"\x89PNG") and (image.width, image.height) == (128, 128)


@pytest.mark.parametrize("profile", ["unreal", "godot", "gltf", "unity", "raw"])
def test_byte_exact_reassembly_every_profile(make_server, profile):
    # Small chunks so that every file arrives in several pieces.
    srv = make_server(chunk_size=4096)
    events = list(srv.stub().Generate(generate_request("mossy stone", seed=11, size=64, profile=profile), timeout=20))
    _check_order(events)
    files = assemble(events)
    expected = expected_files("mossy stone", 11, 64, 64, profile, "MossyStone")
    assert {name: files[name] for name in expected} == expected
    chunks = [e.texture_chunk for e in events if e.WhichOneof("event") == "texture_chunk"]
    assert max(len(c.data) for c in chunks) == 4096 and len(chunks) > len(files)
    # The stream offsets are contiguous over all files.
    assert [c.result_offset for c in chunks] == sorted(c.result_offset for c in chunks)
    completed = events[-1].completed
    assert completed.total_bytes == sum(len(b) for b in files.values())
    assert completed.file_count == len(files) and completed.material_name == "MossyStone"
    manifest = json.loads(completed.manifest_json)
    assert files["material.json"] == completed.manifest_json.encode()
    assert {f["name"] for f in manifest["files"]} == set(expected)
    headers = [e.texture_header for e in events if e.WhichOneof("event") == "texture_header"]
    assert headers[-1].semantic == texture_pb2.TEXTURE_SEMANTIC_MANIFEST
    normal = next(h for h in headers if h.semantic == texture_pb2.TEXTURE_SEMANTIC_NORMAL)
    want = texture_pb2.NORMAL_CONVENTION_DIRECTX if profile == "unreal" else texture_pb2.NORMAL_CONVENTION_OPENGL
    assert normal.normal_convention == want and normal.width == 64


def test_branch_prompts_and_defaults_are_resolved(server):
    params = job_pb2.GenerateParams(branch_prompts=["red clay", "rough matte", "bumpy"],
                                    profile=texture_pb2.EXPORT_PROFILE_GODOT)
    events = list(server.stub().Generate(service_pb2.GenerateRequest(params=params), timeout=20))
    info = server.stub().GetJob(service_pb2.GetJobRequest(job_id=events[0].job_id)).job
    resolved = info.generate
    # Defaults come from the model (fake: 4 steps, 64 px, guidance 3.5); the seed is picked and echoed.
    assert (resolved.steps, resolved.width, resolved.height, resolved.guidance) == (4, 64, 64, 3.5)
    assert resolved.seed == events[0].accepted.seed and resolved.material_name == "RedClay"
    assert server.backend.calls[-1].prompt == ("red clay", "rough matte", "bumpy")
    files = assemble(events)
    expected = expected_files(("red clay", "rough matte", "bumpy"), resolved.seed, 64, 64, "godot", "RedClay")
    assert all(files[name] == data for name, data in expected.items())
    assert info.state == job_pb2.JOB_STATE_SUCCEEDED and info.total_bytes == sum(len(b) for b in files.values())
    assert [f.sha256 for f in info.files] == [hashlib.sha256(files[f.name]).hexdigest() for f in info.files]


def test_backend_failure_ends_stream_with_failed_event(server):
    events = list(server.stub().Generate(generate_request("explode now"), timeout=20))
    assert kinds(events)[0] == "accepted" and kinds(events)[-1] == "failed"
    failed = events[-1].failed
    assert failed.state == job_pb2.JOB_STATE_FAILED and failed.error.code == 13
    assert "the fake model exploded" in failed.error.message
    # The server keeps serving.
    assert kinds(list(server.stub().Generate(generate_request(), timeout=20)))[-1] == "completed"
