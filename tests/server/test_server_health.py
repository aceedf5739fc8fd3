"""Health (NOT_SERVING while the model loads), reflection, model and server info, the CLI."""

from __future__ import annotations

import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from server_harness import generate_request, kinds

from intrinsix.server.protocol import service_pb2

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _status(channel, service: str = "") -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def test_not_serving_while_loading_then_serving(make_server):
    srv = make_server(wait_ready=False, backend_options={"load_delay": 0.6})
    channel = srv.channel()
    assert _status(channel) == NOT_SERVING and _status(channel, "intrinsix.v1.TextureService") == NOT_SERVING
    stub = srv.stub()
    assert not stub.GetServerInfo(service_pb2.GetServerInfoRequest()).ready
    # A job sent while the model loads waits for it instead of failing.
    events = list(stub.Generate(generate_request(), timeout=20))
    assert kinds(events)[-1] == "completed"
    assert _status(channel) == SERVING and _status(channel, "intrinsix.v1.TextureService") == SERVING
    info = stub.GetServerInfo(service_pb2.GetServerInfoRequest())
    assert info.ready and info.api_version == "intrinsix.v1" and list(info.devices) == ["cpu"]
    assert info.limits.max_size == 2048 and info.chunk_size == 1 << 20 and len(info.profiles) == 5
    model = stub.ListModels(service_pb2.ListModelsRequest()).models[0]
    assert (model.name, model.default_steps, model.default_width, model.ready) == ("fake", 4, 64, True)


def test_failed_load_stays_not_serving_and_refuses_jobs(make_server):
    srv = make_server(wait_ready=False, backend_options={"fail_load": "1"})
    stub = srv.stub()
    deadline = time.monotonic() + 5
    while True:
        try:
            next(stub.Generate(generate_request(), timeout=5))
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAVAILABLE and "failed to load" in exc.details()
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert _status(srv.channel()) == NOT_SERVING


def test_reflection_lists_the_service(server):
    stub = reflection_pb2_grpc.ServerReflectionStub(server.channel())
    responses = list(stub.ServerReflectionInfo(iter([
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="intrinsix.v1.TextureService"),
    ]), timeout=5))
    names = {s.name for s in responses[0].list_services_response.service}
    assert {"intrinsix.v1.TextureService", "grpc.health.v1.Health"} <= names
    assert responses[1].file_descriptor_response.file_descriptor_proto  # the schema is served


def test_cli_refuses_bad_options_with_a_message(capsys, tmp_path):
    from intrinsix.server.__main__ import main

    assert main(["--data-dir", str(tmp_path), "--tiny-random-model", "0", "--model-dir", str(tmp_path)]) == 2
    assert "choose one model" in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path), "--tiny-random-model", "0", "--tls-cert", "c.pem"]) == 2
    assert "both --tls-cert and --tls-key" in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path), "--tiny-random-model", "0", "--chunk-kib", "4096"]) == 2
    assert "--chunk-kib must be in 1..1024" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--queue-size", "many"])


def test_cli_register_adds_serve(tmp_path):
    import argparse

    from intrinsix.server.cli import config_from_args, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--tiny-random-model", "3", "--devices", "cpu", "--data-dir", str(tmp_path),
                              "--queue-size", "5", "--retention-hours", "2", "--max-size", "1024"])
    config = config_from_args(args)
    assert (config.queue_size, config.retention_s, config.limits.max_size, config.devices) == (5, 7200.0, 1024, ("cpu",))


def test_serve_defaults_to_the_bundled_demo_model(tmp_path):
    from intrinsix.cli.generate import default_model_dir
    from intrinsix.server import cli as server_cli

    import argparse

    parser = argparse.ArgumentParser()
    server_cli.register(parser.add_subparsers())
    args = parser.parse_args(["serve", "--data-dir", str(tmp_path), "--devices", "cpu"])
    backend = server_cli._backend_factory(args)("cpu")
    description = backend.describe()
    assert backend.model_dir == default_model_dir()
    # The demo model's own defaults (intrinsix_defaults.json), not FLUX.1-dev's 512 / 28.
    assert (description.default_width, description.default_height, description.default_steps) == (256, 256, 20)
    backend.load()
    assert backend.pipe is not None
