"""Fixtures for the room-texturing tests: torch single-threaded (small tensors on a busy 2-core
machine), a small generated room of boxes, and the Khronos glTF validator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
VALIDATOR_ENV = "INTRINSIX_GLTF_VALIDATOR"
VALIDATOR_DEFAULT = REPO / ".dev" / "gltf-validator"  # the same install the pbr tests use
VALIDATOR_VERSION = "2.0.0-dev.3.10"
VALIDATOR_SCRIPT = REPO / "tests" / "pbr" / "validate_gltf.js"


@pytest.fixture(autouse=True)
def single_thread_torch():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def box_room_scene():
    from texturing_testing import small_room

    return small_room()


@pytest.fixture(scope="session")
def gltf_validator():
    """path -> Khronos validator report (dict), through node and tests/pbr/validate_gltf.js.
    Fails (not skips) when node or the validator package is missing, saying how to install it."""
    prefix = Path(os.environ.get(VALIDATOR_ENV, VALIDATOR_DEFAULT))
    package = prefix / "node_modules" / "gltf-validator"
    node = shutil.which("node")
    install = (f"install it with `npm install --prefix {VALIDATOR_DEFAULT} gltf-validator@{VALIDATOR_VERSION}` "
               f"(or into another prefix named by ${VALIDATOR_ENV}); node.js >= 18 must be on PATH")
    if node is None:
        pytest.fail(f"node.js is not on PATH, needed to run the Khronos glTF validator: {install}")
    if not (package / "package.json").is_file():
        pytest.fail(f"the Khronos glTF validator is not installed at {package}: {install}")

    def validate(path: Path) -> dict:
        completed = subprocess.run([node, str(VALIDATOR_SCRIPT), str(package), str(path)], capture_output=True,
                                   text=True, timeout=60)
        assert completed.returncode == 0, f"validator failed: {completed.stderr}"
        return json.loads(completed.stdout)

    return validate
