"""Browser-demo tests: a real IntrinsiX server (in-process, loopback) running the bundled demo model,
and the demo's web process as a client of it through the Python SDK.

The SDK (`intrinsix_client`) is built from this working tree into a temporary folder at
collection time, as `pip install ./clients/python` would build it (its protocol modules are
generated then), so the demo is never tested against a stale installed copy.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "server"))
sys.path.insert(0, str(ROOT / "tests"))

from python_sdk import sdk_site  # noqa: E402  (tests/python_sdk.py)
from server_harness import ServerThread  # noqa: E402


SDK_SITE = sdk_site()
sys.path.insert(0, str(SDK_SITE))


@pytest.fixture(scope="session")
def sdk_site() -> Path:
    """Folder holding the freshly built intrinsix_client (for subprocesses' PYTHONPATH)."""
    return SDK_SITE


@pytest.fixture(scope="session")
def model_server(tmp_path_factory):
    """A real server with the bundled demo model on the CPU (what `intrinsix serve` runs by default)."""
    from intrinsix.cli.generate import default_model_dir
    from intrinsix.server.intrinsix_backend import IntrinsiXBackend

    srv = ServerThread(tmp_path_factory.mktemp("demo-ui-server"), backend_class=IntrinsiXBackend,
                       backend_options={"model_dir": default_model_dir()})
    srv.start(wait_ready=False)
    srv.call(srv.server.wait_ready(120), timeout=130)
    yield srv
    srv.stop()


class DemoThread:
    """The demo's web process, in a thread of the test process: `base` is its http://127.0.0.1:port."""

    def __init__(self, server_address: str, work_dir: Path, token: str | None = None):
        from intrinsix_client import Client

        from intrinsix.server.demo_ui.jobs import JobBoard
        from intrinsix.server.demo_ui.web import DemoApp, make_server

        self.client = Client(server_address, token=token)
        self.board = JobBoard(self.client, work_dir)
        self.httpd = make_server(DemoApp(self.board, server_address, "127.0.0.1"), "127.0.0.1", 0)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.client.close()


@pytest.fixture(scope="module")
def demo(model_server, tmp_path_factory):
    app = DemoThread(model_server.address, tmp_path_factory.mktemp("demo-ui-work"))
    yield app
    app.close()


@pytest.fixture
def make_demo(tmp_path):
    """make_demo(server_address, token=None) -> a DemoThread, closed after the test."""
    made: list[DemoThread] = []

    def make(server_address: str, token: str | None = None) -> DemoThread:
        made.append(DemoThread(server_address, tmp_path / f"demo-work-{len(made)}", token=token))
        return made[-1]

    yield make
    for app in made:
        app.close()
