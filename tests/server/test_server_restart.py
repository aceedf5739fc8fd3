"""The server as a separate process (`python -m intrinsix.server`, the same code as `intrinsix
serve`): a restart keeps finished results and marks interrupted jobs; SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from fake_texture_backend import expected_files
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_harness import assemble, generate_request, kinds

from intrinsix.server.protocol import job_pb2, service_pb2, service_pb2_grpc

HERE = Path(__file__).resolve().parent


def _start(tmp_path: Path, data_dir: Path, name: str) -> tuple[subprocess.Popen, str]:
    port_file = tmp_path / f"{name}.port"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "intrinsix.server", "--backend", "fake_texture_backend:FakeBackend",
         "--backend-option", "step_delay=0.02", "--address", "127.0.0.1:0", "--port-file", str(port_file),
         "--data-dir", str(data_dir), "--devices", "cpu", "--log-level", "WARNING"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not port_file.exists():
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    address = f"127.0.0.1:{port_file.read_text().strip()}"
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while health.Check(health_pb2.HealthCheckRequest(), timeout=5).status != health_pb2.HealthCheckResponse.SERVING:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return process, address


def test_restart_keeps_results_and_marks_interrupted_jobs(tmp_path):
    data_dir = tmp_path / "data"
    process, address = _start(tmp_path, data_dir, "first")
    try:
        with grpc.insecure_channel(address) as channel:
            stub = service_pb2_grpc.TextureServiceStub(channel)
            finished = list(stub.Generate(generate_request("kept across restarts", seed=21, profile="gltf"), timeout=30))
            assert kinds(finished)[-1] == "completed"
            long_job = stub.Generate(generate_request("still running", steps=100), timeout=30)
            running_id = next(long_job).job_id
            for event in long_job:  # wait until it really runs
                if event.WhichOneof("event") == "progress" and event.progress.stage == "denoising":
                    break
            process.kill()  # no graceful shutdown: a crash
            process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()

    process, address = _start(tmp_path, data_dir, "second")
    try:
        with grpc.insecure_channel(address) as channel:
            stub = service_pb2_grpc.TextureServiceStub(channel)
            watched = list(stub.WatchJob(service_pb2.WatchJobRequest(job_id=finished[0].job_id), timeout=30))
            assert kinds(watched)[-1] == "completed"
            files = assemble(watched)
            assert files == assemble(finished)
            expected = expected_files("kept across restarts", 21, 64, 64, "gltf", "KeptAcrossRestarts")
            assert all(files[name] == data for name, data in expected.items())

            info = stub.GetJob(service_pb2.GetJobRequest(job_id=running_id)).job
            assert info.state == job_pb2.JOB_STATE_INTERRUPTED and info.error.code == 10
            assert "submit it again" in info.error.message
            reattached = list(stub.WatchJob(service_pb2.WatchJobRequest(job_id=running_id), timeout=30))
            assert kinds(reattached) == ["accepted", "failed"]
            assert reattached[-1].failed.state == job_pb2.JOB_STATE_INTERRUPTED
            assert kinds(list(stub.Generate(generate_request(), timeout=30)))[-1] == "completed"

        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
