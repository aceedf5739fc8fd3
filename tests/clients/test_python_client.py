"""The Python SDK against a real server: verified files, callbacks, resume after a dropped
connection, cancel, listing, the asyncio client, room uploads."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading

import grpc
import pytest
from fake_texture_backend import expected_files
from server_harness import QUAD_POSITIONS, QUAD_TRIANGLES, QUAD_UVS
from intrinsix_client import AsyncClient, Client, JobFailed, ResultError, ResultWriter, job_pb2
from intrinsix_client._protocol import texture_pb2
from dropping_proxy import DroppingProxy


def _check_files(result, prompt, seed, size, profile, material) -> None:
    expected = expected_files(prompt, seed, size, size, profile, material)
    on_disk = {p.name: p.read_bytes() for p in result.out_dir.iterdir()}
    assert set(on_disk) == set(expected) | {"material.json"}  # no staging files left behind
    assert all(on_disk[name] == data for name, data in expected.items())
    for f in result.files:
        assert f.path.read_bytes() == on_disk[f.name] and hashlib.sha256(on_disk[f.name]).hexdigest() == f.sha256


def test_generate_writes_verified_files_and_reports_progress(server, tmp_path):
    progress, previews = [], []
    with Client(server.address) as client:
        info = client.wait_ready(timeout=5)
        assert info.ready
        result = client.generate("red brick wall", tmp_path / "out", seed=7, size=64, steps=4, profile="unreal",
                                 preview_every=2, preview_size=32, on_progress=progress.append,
                                 on_preview=previews.append)
    _check_files(result, "red brick wall", 7, 64, "unreal", "RedBrickWall")
    assert result.material_name == "RedBrickWall" and result.profile == "unreal" and result.resumes == []
    assert [f.name for f in result.files][-1] == "material.json"
    normal = result.file("normal")
    assert (normal.normal_convention, normal.color_space, normal.format, normal.width) == ("directx", "linear", "png8", 64)
    assert result.file("orm").packing == "R=ambient_occlusion,G=roughness,B=metallic"
    assert result.manifest["material_name"] == "RedBrickWall"
    overall = [p.overall for p in progress]
    assert overall == sorted(overall) and overall[-1] == 1.0
    assert [p.step for p in previews] == [2, 4] and all(len(p.images) == 3 for p in previews)


def test_dropped_connection_resumes_from_the_last_stored_byte(make_server, tmp_path):
    srv = make_server(chunk_size=16384)
    cut_at = []

    def cut_mid_result(event):
        # Drop the connection right after the client stored a chunk 1 MB into the 33 MB result (more
        # than the server can have sent ahead within HTTP/2 flow control).
        chunk = event.texture_chunk
        if event.WhichOneof("event") == "texture_chunk" and chunk.result_offset >= 1_000_000 and not cut_at:
            cut_at.append(chunk.result_offset + len(chunk.data))
            proxy.cut()

    with DroppingProxy(srv.port) as proxy, Client(proxy.address) as client:
        result = client.generate("cracked asphalt", tmp_path / "out", seed=3, size=1024, profile="raw", steps=2,
                                 on_event=cut_mid_result)
        assert proxy.cuts == 1 and proxy.connections >= 2
    _check_files(result, "cracked asphalt", 3, 1024, "raw", "CrackedAsphalt")
    # Resumed once, at or after the last chunk stored before the cut (later chunks may have arrived
    # before the connection died), never from the start.
    assert len(result.resumes) == 1 and cut_at[0] <= result.resumes[0] < result.total_bytes
    with Client(srv.address) as client:
        assert len(client.jobs()) == 1  # resumed, not submitted twice


def test_connection_dropped_before_any_texture_data(make_server, tmp_path):
    srv = make_server(chunk_size=16384)
    with DroppingProxy(srv.port, cut_after=400) as proxy, Client(proxy.address) as client:
        result = client.generate("cracked asphalt", tmp_path / "out", seed=3, size=64, profile="raw", steps=2)
        assert proxy.cuts == 1
    _check_files(result, "cracked asphalt", 3, 64, "raw", "CrackedAsphalt")
    with Client(srv.address) as client:
        assert len(client.jobs()) == 1


def test_stream_lost_before_job_id_finds_the_job_by_request_id(server, tmp_path):
    class Dropped(grpc.RpcError):
        def code(self):
            return grpc.StatusCode.UNAVAILABLE

    with Client(server.address) as client:
        stream = client.submit("found again", seed=9, size=64, profile="godot", client_request_id="lost-before-accept")
        real_open = stream._open_call
        opened = []

        def open_then_drop():
            opened.append(1)
            if len(opened) == 1:
                next(iter(real_open()))  # the server creates the job ...
                def dropped():
                    raise Dropped()
                    yield  # pragma: no cover
                return dropped()  # ... but its first event never reaches us
            return real_open()

        stream._open_call = open_then_drop
        stream._state.resume_delay = 0.01
        events = list(stream)
        assert len(opened) == 1  # re-attached by request id, not sent again
        assert events[0].accepted.reattached and events[-1].WhichOneof("event") == "completed"
        assert len(client.jobs()) == 1


def test_cancel_raises_job_failed(server, tmp_path):
    server.backend.gate.clear()
    with Client(server.address) as client:
        def cancel_when_running():
            assert server.backend.at_gate.wait(5)
            job_id = client.jobs()[0].job_id
            assert client.cancel(job_id).cancelled

        canceller = threading.Thread(target=cancel_when_running)
        canceller.start()
        with pytest.raises(JobFailed) as error:
            client.generate("hold for cancel", tmp_path / "out", steps=20)
        canceller.join()
        assert error.value.state == "CANCELLED" and error.value.code == 1
        assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
        job = client.jobs()[0]
        assert job.state == job_pb2.JOB_STATE_CANCELLED
        assert client.job(job.job_id).job_id == job.job_id


def test_download_and_overwrite_rules(server, tmp_path):
    with Client(server.address) as client:
        first = client.generate("oak planks", tmp_path / "a", seed=1, size=64, profile="gltf")
        again = client.download(first.job_id, tmp_path / "b")
        assert [f.sha256 for f in again.files] == [f.sha256 for f in first.files]
        assert client.download(first.job_id, tmp_path / "a").total_bytes == first.total_bytes  # same bytes: fine
        with pytest.raises(FileExistsError, match="different content"):
            client.generate("oak planks", tmp_path / "a", seed=2, size=64, profile="gltf")
        assert not [p for p in (tmp_path / "a").iterdir() if p.name.endswith(".part")]
        replaced = client.generate("oak planks", tmp_path / "a", seed=2, size=64, profile="gltf", overwrite=True)
        _check_files(replaced, "oak planks", 2, 64, "gltf", "OakPlanks")


def _header(index, name, data, offset):
    return job_pb2.JobEvent(job_id="j", texture_header=texture_pb2.TextureHeader(
        file_index=index, file_count=1, name=name, byte_size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        result_offset=offset))


def _chunk(index, data, offset, last=True):
    return job_pb2.JobEvent(job_id="j", texture_chunk=texture_pb2.TextureChunk(
        file_index=index, offset=offset, data=data, last=last, result_offset=offset))


def test_writer_rejects_corrupt_data_and_unsafe_names(tmp_path):
    writer = ResultWriter(tmp_path)
    writer.handle(_header(0, "map.png", b"good bytes", 0))
    with pytest.raises(ResultError, match="SHA-256"):
        writer.handle(_chunk(0, b"evil bytes", 0))
    assert list(tmp_path.iterdir()) == []  # the staged file is removed, nothing published

    for name in ("../escape.png", "/etc/passwd", ".hidden", "a/b.png", "..\\x.png"):
        with pytest.raises(ResultError, match="not a plain file name"):
            ResultWriter(tmp_path).handle(_header(0, name, b"x", 0))

    writer = ResultWriter(tmp_path)
    writer.handle(_header(0, "map.png", b"abcdef", 0))
    with pytest.raises(ResultError, match="does not continue"):
        writer.handle(_chunk(0, b"def", 3))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_async_client(server, tmp_path):
    async def run():
        async with AsyncClient(server.address) as client:
            await client.wait_ready(timeout=5)
            seen = []

            async def on_progress(p):
                seen.append(p.overall)

            result = await client.generate("mossy cobblestone", tmp_path / "out", seed=4, size=64, profile="godot",
                                           on_progress=on_progress)
            events = [e async for e in client.submit("second one", seed=5, size=64, profile="raw")]
            jobs = await client.jobs()
            return result, seen, events, jobs

    result, seen, events, jobs = asyncio.run(run())
    _check_files(result, "mossy cobblestone", 4, 64, "godot", "MossyCobblestone")
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert events[0].WhichOneof("event") == "accepted" and events[-1].WhichOneof("event") == "completed"
    assert len(jobs) == 2


def test_async_client_resumes_after_a_dropped_connection(make_server, tmp_path):
    srv = make_server(chunk_size=16384)

    async def run(address, on_event):
        async with AsyncClient(address) as client:
            return await client.generate("rusty plate", tmp_path / "out", seed=8, size=1024, profile="raw", steps=2,
                                         on_event=on_event)

    def cut_mid_result(event):
        if event.WhichOneof("event") == "texture_chunk" and event.texture_chunk.result_offset >= 1_000_000:
            proxy.cut()

    with DroppingProxy(srv.port) as proxy:
        result = asyncio.run(run(proxy.address, cut_mid_result))
        assert proxy.cuts == 1
    _check_files(result, "rusty plate", 8, 1024, "raw", "RustyPlate")
    assert len(result.resumes) == 1 and 1_000_000 < result.resumes[0] < result.total_bytes


def test_texture_room_upload(server, tmp_path):
    with Client(server.address) as client:
        result = client.texture_room(QUAD_POSITIONS, QUAD_TRIANGLES, QUAD_UVS, "plaster walls", tmp_path / "room",
                                     texture_size=64, steps=2, profile="godot")
    manifest = json.loads((tmp_path / "room" / "material.json").read_text())
    assert manifest["vertices"] == 4 and manifest["triangles"] == 2 and result.material_name == "PlasterWalls"


def test_token_from_argument_and_environment(make_server, tmp_path, monkeypatch):
    token = "client-token-0123456789abcdef"
    srv = make_server(tokens=(token,))
    with Client(srv.address) as anonymous, pytest.raises(grpc.RpcError) as error:
        anonymous.server_info()
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with Client(srv.address, token=token) as client:
        assert client.server_info().auth_required
    monkeypatch.setenv("INTRINSIX_TOKEN", token)
    with Client(srv.address) as client:
        assert client.generate("lichen", tmp_path / "out", size=64).files


def test_sdk_imports_without_torch(tmp_path):
    import os
    import subprocess
    import sys

    import intrinsix_client

    site = os.path.dirname(os.path.dirname(intrinsix_client.__file__))
    code = ("import sys, intrinsix_client; assert 'torch' not in sys.modules and 'intrinsix' not in sys.modules; "
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": site}, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
