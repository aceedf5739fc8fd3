"""Test tiers: the CPU tier runs everywhere; tests marked `gpu` need a CUDA device and a CUDA
build of the kernels, and are skipped (with the reason) otherwise."""

from __future__ import annotations

import pytest
import torch


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
