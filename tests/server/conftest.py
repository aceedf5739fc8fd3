"""Fixtures for the server tests: a loopback server with the fake backend."""

from __future__ import annotations

import pytest
from server_harness import ServerThread


@pytest.fixture
def server(tmp_path):
    with ServerThread(tmp_path) as srv:
        yield srv


@pytest.fixture
def make_server(tmp_path):
    """Start servers with custom configuration; all are stopped after the test."""
    started = []

    def make(wait_ready: bool = True, **kwargs) -> ServerThread:
        srv = ServerThread(tmp_path / f"s{len(started)}", **kwargs).start(wait_ready=wait_ready)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()
