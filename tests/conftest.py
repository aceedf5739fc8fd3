"""Test tiers: the CPU tier runs everywhere; tests marked `gpu` need a CUDA device and a CUDA
build of the kernels, and are skipped (with the reason) otherwise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
GLTF_VALIDATOR_ENV = "INTRINSIX_GLTF_VALIDATOR"
GLTF_VALIDATOR_DEFAULT = REPO / ".dev" / "gltf-validator"  # .dev/ is git-ignored
GLTF_VALIDATOR_VERSION = "2.0.0-dev.3.10"
GLTF_VALIDATOR_SCRIPT = REPO / "tests" / "pbr" / "validate_gltf.js"


def _gpu_skip_reason() -> str | None:
    if not torch.cuda.is_available():
        return "no CUDA device"
    from intrinsix.kernels import has_cuda

    if not has_cuda():
        return "the intrinsix kernels were built without CUDA"
    return None


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    reason = _gpu_skip_reason()
    if reason is None:
        return
    marker = pytest.mark.skip(reason=f"gpu test skipped: {reason}")
    for item in gpu_items:
        item.add_marker(marker)


@pytest.fixture
def cuda_device() -> torch.device:
    return torch.device("cuda")


@pytest.fixture(scope="session")
def gltf_validator():
    """A function path -> validation report (dict) running the Khronos glTF validator through node
    (tests/pbr/validate_gltf.js). Fails (not skips) when node or the validator package is missing,
    saying how to install it."""
    prefix = Path(os.environ.get(GLTF_VALIDATOR_ENV, GLTF_VALIDATOR_DEFAULT))
    package = prefix / "node_modules" / "gltf-validator"
    node = shutil.which("node")
    install = (f"install it with `npm install --prefix {GLTF_VALIDATOR_DEFAULT} "
               f"gltf-validator@{GLTF_VALIDATOR_VERSION}` (or into another prefix named by "
               f"${GLTF_VALIDATOR_ENV}); node.js >= 18 must be on PATH")
    if node is None:
        pytest.fail(f"node.js is not on PATH, needed to run the Khronos glTF validator: {install}")
    if not (package / "package.json").is_file():
        pytest.fail(f"the Khronos glTF validator is not installed at {package}: {install}")

    def validate(path: Path) -> dict:
        completed = subprocess.run([node, str(GLTF_VALIDATOR_SCRIPT), str(package), str(path)],
                                   capture_output=True, text=True, timeout=60)
        assert completed.returncode == 0, f"validator failed: {completed.stderr}"
        return json.loads(completed.stdout)

    return validate
