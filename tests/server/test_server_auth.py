"""Token authentication, per-token job visibility, secrets kept out of logs and storage, TLS."""

from __future__ import annotations

import hmac
import logging
import shutil
import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_harness import bearer, generate_request, kinds

from intrinsix.server.auth import TokenAuth, load_tokens, owner_id
from intrinsix.server.protocol import service_pb2, service_pb2_grpc

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-fedcba9876543210xyz"


def _code(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as error:
        result = call()
        if hasattr(result, "__iter__") and not hasattr(result, "DESCRIPTOR"):
            list(result)
    return error.value.code(), error.value.details()


def test_missing_wrong_and_malformed_tokens(make_server):
    srv = make_server(tokens=(ALICE, BOB))
    stub = srv.stub()
    calls = {
        "Generate": lambda md: stub.Generate(generate_request(), metadata=md, timeout=10),
        "GetJob": lambda md: stub.GetJob(service_pb2.GetJobRequest(job_id="0" * 32), metadata=md, timeout=10),
        "ListJobs": lambda md: stub.ListJobs(service_pb2.ListJobsRequest(), metadata=md, timeout=10),
        "GetServerInfo": lambda md: stub.GetServerInfo(service_pb2.GetServerInfoRequest(), metadata=md, timeout=10),
        "ListModels": lambda md: stub.ListModels(service_pb2.ListModelsRequest(), metadata=md, timeout=10),
        "CancelJob": lambda md: stub.CancelJob(service_pb2.CancelJobRequest(job_id="0" * 32), metadata=md, timeout=10),
    }
    for name, call in calls.items():
        code, details = _code(lambda: call(None))
        assert code == grpc.StatusCode.UNAUTHENTICATED and "authorization: Bearer <token>" in details, name
        code, _ = _code(lambda: call(bearer("not-a-valid-token-at-all")))
        assert code == grpc.StatusCode.PERMISSION_DENIED, name
        code, details = _code(lambda: call((("authorization", f"Basic {ALICE}"),)))
        assert code == grpc.StatusCode.UNAUTHENTICATED and "Bearer" in details, name
    assert not srv.backend.calls
    info = stub.GetServerInfo(service_pb2.GetServerInfoRequest(), metadata=bearer(ALICE))
    assert info.auth_required and info.ready
    # Health and reflection need no token (load balancers, tools).
    health = health_pb2_grpc.HealthStub(srv.channel())
    assert health.Check(health_pb2.HealthCheckRequest(service="intrinsix.v1.TextureService")).status == \
        health_pb2.HealthCheckResponse.SERVING


def test_jobs_are_visible_only_to_their_token(make_server, caplog):
    caplog.set_level(logging.DEBUG)
    srv = make_server(tokens=(ALICE, BOB))
    stub = srv.stub()
    events = list(stub.Generate(generate_request("alice's wall"), metadata=bearer(ALICE), timeout=10))
    job_id = events[0].job_id
    assert kinds(events)[-1] == "completed"
    assert stub.GetJob(service_pb2.GetJobRequest(job_id=job_id), metadata=bearer(ALICE)).job.job_id == job_id
    for call in (
        lambda: stub.GetJob(service_pb2.GetJobRequest(job_id=job_id), metadata=bearer(BOB)),
        lambda: stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id), metadata=bearer(BOB)),
        lambda: stub.CancelJob(service_pb2.CancelJobRequest(job_id=job_id), metadata=bearer(BOB)),
    ):
        code, details = _code(call)
        assert code == grpc.StatusCode.NOT_FOUND and "another token" in details
    assert not stub.ListJobs(service_pb2.ListJobsRequest(), metadata=bearer(BOB)).jobs
    assert [j.job_id for j in stub.ListJobs(service_pb2.ListJobsRequest(), metadata=bearer(ALICE)).jobs] == [job_id]
    # The job table stores an owner id, never the token; no token reaches the log.
    srv.stop()
    database = (srv.config.data_dir / "jobs.sqlite3").read_bytes()
    wal = srv.config.data_dir / "jobs.sqlite3-wal"
    stored = database + (wal.read_bytes() if wal.exists() else b"")
    assert ALICE.encode() not in stored and BOB.encode() not in stored
    assert owner_id(ALICE).encode() in stored
    assert all(ALICE not in r.getMessage() and BOB not in r.getMessage() for r in caplog.records)


def test_token_compare_checks_every_token(monkeypatch):
    auth = TokenAuth([ALICE, BOB, "carol-token-0000000000000000"])
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    assert auth.owner([("authorization", f"Bearer {ALICE}")]) == owner_id(ALICE)
    assert len(calls) == 3  # a match on the first token does not end the comparison early


def test_load_tokens_from_file_and_env(tmp_path, monkeypatch):
    path = tmp_path / "tokens.txt"
    path.write_text(f"# editors\n{ALICE}\n\n  {BOB}  \n")
    monkeypatch.setenv("INTRINSIX_TOKENS", f"{BOB}, env-token-1234567890abcd")
    assert load_tokens(path) == (ALICE, BOB, "env-token-1234567890abcd")
    path.write_text("short\n")
    with pytest.raises(ValueError) as error:
        load_tokens(path)
    assert "line 1" in str(error.value) and "at least 16 characters" in str(error.value)
    assert "short" not in str(error.value).replace("shorter", "")  # the bad token itself is not echoed


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
def test_tls(make_server, tmp_path):
    from intrinsix.server import TlsConfig

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    srv = make_server(tls=TlsConfig(cert, key), tokens=(ALICE,))
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    with grpc.secure_channel(f"localhost:{srv.port}", credentials) as channel:
        stub = service_pb2_grpc.TextureServiceStub(channel)
        events = list(stub.Generate(generate_request(), metadata=bearer(ALICE), timeout=10))
        assert kinds(events)[-1] == "completed"
    with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:  # plaintext to a TLS port fails
        stub = service_pb2_grpc.TextureServiceStub(channel)
        code, _ = _code(lambda: stub.GetServerInfo(service_pb2.GetServerInfoRequest(), metadata=bearer(ALICE), timeout=3))
        assert code == grpc.StatusCode.UNAVAILABLE


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make test certificates")
def test_mutual_tls_requires_a_client_certificate(make_server, tmp_path):
    from intrinsix.server import TlsConfig

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp_path)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca")
    run("req", "-x509", *ec, "-keyout", "server.key", "-out", "server.pem", "-days", "1", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost")
    run("req", *ec, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=editor")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "client.pem", "-days", "1")
    srv = make_server(tls=TlsConfig(tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "ca.pem"))
    server_cert = (tmp_path / "server.pem").read_bytes()
    with_cert = grpc.ssl_channel_credentials(root_certificates=server_cert,
                                             private_key=(tmp_path / "client.key").read_bytes(),
                                             certificate_chain=(tmp_path / "client.pem").read_bytes())
    with grpc.secure_channel(f"localhost:{srv.port}", with_cert) as channel:
        info = service_pb2_grpc.TextureServiceStub(channel).GetServerInfo(service_pb2.GetServerInfoRequest(), timeout=5)
        assert info.ready
    without = grpc.ssl_channel_credentials(root_certificates=server_cert)
    with grpc.secure_channel(f"localhost:{srv.port}", without) as channel:
        stub = service_pb2_grpc.TextureServiceStub(channel)
        code, _ = _code(lambda: stub.GetServerInfo(service_pb2.GetServerInfoRequest(), timeout=3))
        assert code == grpc.StatusCode.UNAVAILABLE
