"""Client SDK tests, against the real server (in-process, loopback, fake backend) from
tests/server.

The SDK under test is built from this working tree (clients/python + proto/) into a temporary
folder at collection time, exactly as `pip install ./clients/python` builds it (the protocol
modules are generated then), so the tests never run against a stale installed copy. Needs pip,
setuptools and grpcio-tools (about a second).
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "server"))

from server_harness import ServerThread  # noqa: E402


def _build_sdk() -> Path:
    work = Path(tempfile.mkdtemp(prefix="intrinsix-client-test-"))
    atexit.register(shutil.rmtree, work, True)
    source = work / "src"
    shutil.copytree(ROOT / "clients" / "python", source / "clients" / "python",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "_proto", "__pycache__"))
    shutil.copytree(ROOT / "proto", source / "proto")
    site = work / "site"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                             "--target", str(site), str(source / "clients" / "python")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"building clients/python for the tests failed:\n{result.stdout}\n{result.stderr}")
    return site


sys.path.insert(0, str(_build_sdk()))


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
