"""Client SDK tests, against the real server (in-process, loopback, fake backend) from
tests/server.

The SDK under test is built from this working tree (clients/python + proto/) into a temporary
folder at collection time, exactly as `pip install ./clients/python` builds it (the protocol
modules are generated then), so the tests never run against a stale installed copy. Needs pip,
setuptools and grpcio-tools (about a second).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "server"))
sys.path.insert(0, str(ROOT / "tests"))

from python_sdk import sdk_site  # noqa: E402  (tests/python_sdk.py)
from server_harness import ServerThread  # noqa: E402

sys.path.insert(0, str(sdk_site()))


@pytest.fixture
def server(tmp_path):
    with ServerThread(tmp_path / "server", chunk_size=16384) as srv:
        yield srv


@pytest.fixture
def make_server(tmp_path):
    started = []

    def make(**kwargs) -> ServerThread:
        srv = ServerThread(tmp_path / f"server{len(started)}", **kwargs).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()
