"""The Python SDK under test, built once per test session from this working tree.

`clients/python` + `proto/` are built into a temporary folder exactly as
`pip install ./clients/python` builds them (the protocol modules are generated then), so the client
and demo-ui tests never run against a stale installed copy. Needs pip, setuptools and grpcio-tools.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=None)
def sdk_site() -> Path:
    """Folder holding the freshly built `intrinsix_client` (put it on sys.path / PYTHONPATH)."""
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
