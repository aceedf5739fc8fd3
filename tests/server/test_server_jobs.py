"""Job lifecycle over the wire: cancel, re-attach and resume, concurrency, queue limit,
deadlines, listing, retention."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from fake_texture_backend import expected_files
from server_harness import assemble, generate_request, kinds

from intrinsix.server.protocol import job_pb2, service_pb2


def _wait(predicate, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.01)


def _state(stub, job_id: str) -> int:
    return stub.GetJob(service_pb2.GetJobRequest(job_id=job_id)).job.state


def test_cancel_running_job_stops_at_next_step(server):
    stub = server.stub()
    server.backend.gate.clear()
    stream = stub.Generate(generate_request("hold the line", steps=50), timeout=20)
    accepted = next(stream)
    assert server.backend.at_gate.wait(5)
    response = stub.CancelJob(service_pb2.CancelJobRequest(job_id=accepted.job_id))
    assert response.cancelled and response.state == job_pb2.JOB_STATE_RUNNING
    rest = list(stream)
    assert kinds(rest)[-1] == "failed"
    assert rest[-1].failed.state == job_pb2.JOB_STATE_CANCELLED and rest[-1].failed.error.code == 1
    # Stopped before its next step: no denoising step was reported.
    assert not [e for e in rest if e.WhichOneof("event") == "progress" and e.progress.stage == "denoising"]
    assert _state(stub, accepted.job_id) == job_pb2.JOB_STATE_CANCELLED
    assert not (server.config.data_dir / "results" / accepted.job_id).exists()
    # Cancelling again reports the final state; a finished job is not cancelled.
    again = stub.CancelJob(service_pb2.CancelJobRequest(job_id=accepted.job_id))
    assert again.cancelled and again.state == job_pb2.JOB_STATE_CANCELLED
    done = list(stub.Generate(generate_request(), timeout=20))
    late = stub.CancelJob(service_pb2.CancelJobRequest(job_id=done[0].job_id))
    assert not late.cancelled and late.state == job_pb2.JOB_STATE_SUCCEEDED


def test_cancel_queued_job(server):
    stub = server.stub()
    server.backend.gate.clear()
    first = stub.Generate(generate_request("hold on"), timeout=20)
    first_id = next(first).job_id
    assert server.backend.at_gate.wait(5)
    second = stub.Generate(generate_request("queued one"), timeout=20)
    accepted = next(second)
    assert accepted.accepted.queue_position == 0 and accepted.accepted.state == job_pb2.JOB_STATE_QUEUED
    response = stub.CancelJob(service_pb2.CancelJobRequest(job_id=accepted.job_id))
    assert response.cancelled and response.state == job_pb2.JOB_STATE_CANCELLED
    assert list(second)[-1].failed.state == job_pb2.JOB_STATE_CANCELLED
    server.backend.gate.set()
    assert kinds(list(first))[-1] == "completed"
    assert [p.prompt for p in server.backend.calls] == ["hold on"]  # the cancelled job never ran
    assert _state(stub, first_id) == job_pb2.JOB_STATE_SUCCEEDED


def test_kill_stream_then_reattach_and_resume_from_offset(make_server):
    srv = make_server(chunk_size=4096)
    stub = srv.stub()
    call = stub.Generate(generate_request("cracked asphalt", seed=3, size=128, profile="raw"), timeout=20)
    received, stored = [], bytearray()
    for event in call:
        received.append(event)
        if event.WhichOneof("event") == "texture_chunk":
            stored += event.texture_chunk.data
            if len(stored) >= 5 * 4096 + 4096 * 40:  # somewhere inside the second file
                break
    call.cancel()  # the client drops the stream mid-result
    job_id = received[0].job_id
    last = received[-1].texture_chunk
    resume = last.result_offset + len(last.data)
    assert resume == len(stored)

    watch = list(stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id, resume_offset=resume), timeout=20))
    assert watch[0].accepted.reattached and watch[0].accepted.resume_offset == resume
    assert watch[0].accepted.state == job_pb2.JOB_STATE_SUCCEEDED
    chunks = [e.texture_chunk for e in watch if e.WhichOneof("event") == "texture_chunk"]
    assert chunks[0].result_offset == resume  # no byte is sent twice
    headers = [e.texture_header for e in watch if e.WhichOneof("event") == "texture_header"]
    assert headers[0].file_index == last.file_index  # the interrupted file is announced again
    whole = bytes(stored) + b"".join(c.data for c in chunks)

    expected = expected_files("cracked asphalt", 3, 128, 128, "raw", "CrackedAsphalt")
    full = list(stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id), timeout=20))
    files = assemble(full)
    assert whole == b"".join(files[h.name] for h in (e.texture_header for e in full
                                                       if e.WhichOneof("event") == "texture_header"))
    assert all(files[name] == data for name, data in expected.items())
    assert watch[-1].completed.total_bytes == len(whole)

    # Resuming exactly at a file boundary skips the earlier files entirely.
    first_header = next(e.texture_header for e in full if e.WhichOneof("event") == "texture_header")
    boundary = list(stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id, resume_offset=first_header.byte_size),
                                  timeout=20))
    names = [e.texture_header.name for e in boundary if e.WhichOneof("event") == "texture_header"]
    assert first_header.name not in names and len(names) == len(files) - 1
    # Beyond the end: OUT_OF_RANGE, with the allowed range.
    with pytest.raises(grpc.RpcError) as error:
        list(stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id, resume_offset=len(whole) + 1), timeout=20))
    assert error.value.code() == grpc.StatusCode.OUT_OF_RANGE and f"0..{len(whole)}" in error.value.details()


def test_reattach_to_running_job_gets_live_events(server):
    stub = server.stub()
    server.backend.gate.clear()
    original = stub.Generate(generate_request("hold steady", steps=5, preview_every=1), timeout=20)
    job_id = next(original).job_id
    assert server.backend.at_gate.wait(5)
    original.cancel()  # the stream goes away, the job does not
    watch = stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id), timeout=20)
    first = next(watch)
    assert first.accepted.reattached and first.accepted.state == job_pb2.JOB_STATE_RUNNING
    snapshot = next(watch)
    assert snapshot.WhichOneof("event") == "progress"
    server.backend.gate.set()
    rest = [snapshot] + list(watch)
    overall = [e.progress.overall for e in rest if e.WhichOneof("event") == "progress"]
    assert overall == sorted(overall) and overall[-1] == 1.0
    assert [e.preview.step for e in rest if e.WhichOneof("event") == "preview"] == [1, 2, 3, 4, 5]
    assert kinds(rest)[-1] == "completed" and assemble(rest)


def test_32_concurrent_clients_get_their_own_results(make_server):
    srv = make_server(devices=("cpu:0", "cpu:1"), chunk_size=8192)
    profiles = ["unreal", "godot", "gltf", "unity", "raw"]

    def one(i: int):
        stub = srv.stub()
        request = generate_request(f"material number {i}", seed=1000 + i, size=64 + 16 * (i % 3),
                                   profile=profiles[i % 5], client_request_id=f"client-{i}")
        events = list(stub.Generate(request, timeout=60))
        return i, events

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(32)))
    job_ids = set()
    devices = set()
    stub = srv.stub()
    for i, events in results:
        assert kinds(events)[-1] == "completed", (i, kinds(events))
        assert all(e.client_request_id == f"client-{i}" for e in events)
        size = 64 + 16 * (i % 3)
        material = f"MaterialNumber{i}"
        expected = expected_files(f"material number {i}", 1000 + i, size, size, profiles[i % 5], material)
        files = assemble(events)
        assert {name: files[name] for name in expected} == expected
        job_ids.add(events[0].job_id)
        devices.add(stub.GetJob(service_pb2.GetJobRequest(job_id=events[0].job_id)).job.device)
    assert len(job_ids) == 32
    assert devices == {"cpu:0", "cpu:1"}  # one worker per device, both used


def test_queue_full_is_resource_exhausted(make_server):
    srv = make_server(queue_size=2)
    stub = srv.stub()
    srv.backend.gate.clear()
    running = stub.Generate(generate_request("hold it"), timeout=20)
    next(running)
    assert srv.backend.at_gate.wait(5)
    queued = [stub.Generate(generate_request(f"queued {i}"), timeout=20) for i in range(2)]
    assert [next(q).accepted.queue_position for q in queued] == [0, 1]
    with pytest.raises(grpc.RpcError) as error:
        next(stub.Generate(generate_request("one too many"), timeout=20))
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "2 of 2" in error.value.details()
    info = stub.GetServerInfo(service_pb2.GetServerInfoRequest())
    assert (info.queued, info.running, info.queue_capacity) == (2, 1, 2)
    srv.backend.gate.set()
    assert kinds(list(running))[-1] == "completed"
    streams = [list(q) for q in queued]
    positions = [[e.progress.queue_position for e in events if e.WhichOneof("event") == "progress"
                  and e.progress.stage == "queued"] for events in streams]
    assert positions[1][:1] == [0]  # the second queued job moved up when the first left the queue
    assert all(kinds(events)[-1] == "completed" for events in streams)


def test_deadline_stops_running_and_queued_jobs(server):
    stub = server.stub()
    server.backend.gate.clear()
    # Either the client's deadline ends the call first, or the server's copy of it (slightly
    # earlier) fails the job first and the stream ends with that: both are correct.
    events: list = []
    try:
        events.extend(stub.Generate(generate_request("hold forever"), timeout=0.5))
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    else:
        assert events[-1].failed.error.code == 4
    jobs = stub.ListJobs(service_pb2.ListJobsRequest()).jobs
    _wait(lambda: _state(stub, jobs[0].job_id) == job_pb2.JOB_STATE_FAILED)
    info = stub.GetJob(service_pb2.GetJobRequest(job_id=jobs[0].job_id)).job
    assert info.error.code == 4 and "deadline" in info.error.message

    blocker = stub.Generate(generate_request("hold again"), timeout=20)
    next(blocker)
    assert server.backend.at_gate.wait(5)
    events = []
    try:
        events.extend(stub.Generate(generate_request("short lived"), timeout=0.3))
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    else:
        assert events[-1].failed.error.code == 4
    short = next(j for j in stub.ListJobs(service_pb2.ListJobsRequest()).jobs if j.generate.prompt == "short lived")
    _wait(lambda: _state(stub, short.job_id) == job_pb2.JOB_STATE_FAILED)
    server.backend.gate.set()
    assert kinds(list(blocker))[-1] == "completed"
    assert "short lived" not in [p.prompt for p in server.backend.calls]  # never started


def test_list_jobs_pages_and_filters(server):
    stub = server.stub()
    ids = [list(stub.Generate(generate_request(f"item {i}", client_request_id=f"batch-{i % 2}"), timeout=20))[0].job_id
           for i in range(5)]
    seen, token, pages = [], "", 0
    while True:
        page = stub.ListJobs(service_pb2.ListJobsRequest(page_size=2, page_token=token))
        seen += [j.job_id for j in page.jobs]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3 and seen == ids[::-1]  # newest first, every job once
    odd = stub.ListJobs(service_pb2.ListJobsRequest(client_request_id="batch-1")).jobs
    assert [j.job_id for j in odd] == [ids[3], ids[1]]
    done = stub.ListJobs(service_pb2.ListJobsRequest(states=[job_pb2.JOB_STATE_SUCCEEDED])).jobs
    assert len(done) == 5 and all(j.files for j in done)
    assert not stub.ListJobs(service_pb2.ListJobsRequest(states=[job_pb2.JOB_STATE_RUNNING])).jobs


def test_retention_deletes_old_results(make_server):
    srv = make_server(retention_s=1.0)
    stub = srv.stub()
    job_id = list(stub.Generate(generate_request(), timeout=20))[0].job_id
    folder = srv.config.data_dir / "results" / job_id
    assert folder.is_dir()
    info = stub.GetJob(service_pb2.GetJobRequest(job_id=job_id)).job
    assert info.expires_at.ToNanoseconds() - info.finished_at.ToNanoseconds() == 1_000_000_000

    def gone() -> bool:
        try:
            stub.GetJob(service_pb2.GetJobRequest(job_id=job_id))
            return False
        except grpc.RpcError as exc:
            return exc.code() == grpc.StatusCode.NOT_FOUND

    _wait(gone, timeout=6)
    assert not folder.exists()


def test_graceful_shutdown_finishes_running_and_interrupts_queued(make_server):
    from intrinsix.server.store import JobStore

    srv = make_server(backend_options={"step_delay": 0.05})
    stub = srv.stub()
    running = stub.Generate(generate_request("slow but sure", steps=8), timeout=20)
    running_id = next(running).job_id
    _wait(lambda: srv.call(_running_count(srv)) == 1)
    queued = stub.Generate(generate_request("never runs"), timeout=20)
    queued_id = next(queued).job_id
    events: list = []
    reader = threading.Thread(target=lambda: events.extend(running))
    reader.start()
    srv.stop(grace_s=10.0)
    reader.join(10)
    assert kinds(events)[-1] == "completed"  # it got to finish and deliver
    store = JobStore(srv.config.data_dir)
    assert store.get(running_id).state == job_pb2.JOB_STATE_SUCCEEDED
    assert store.get(queued_id).state == job_pb2.JOB_STATE_INTERRUPTED
    store.close()


async def _running_count(srv) -> int:
    return srv.server.manager.running
