"""`--devices`: which workers a server starts, with fake device counts (issue 9 on machines
without several GPUs). That each device really gets its own worker is tested with two CPU workers
in test_server_jobs.py."""

import pytest

from intrinsix.server.cli import resolve_devices


@pytest.mark.parametrize("spec, count, expected", [
    ("auto", 0, ("cpu",)),
    ("auto", 1, ("cuda:0",)),
    ("auto", 4, ("cuda:0", "cuda:1", "cuda:2", "cuda:3")),
    ("all", 8, tuple(f"cuda:{i}" for i in range(8))),
    ("cuda:1,cuda:3", 4, ("cuda:1", "cuda:3")),
    ("cuda", 2, ("cuda:0",)),
    ("cpu", 2, ("cpu",)),
    ("cpu:0, cpu:1", 0, ("cpu:0", "cpu:1")),
])
def test_device_lists(spec, count, expected):
    assert resolve_devices(spec, cuda_count=count) == expected


@pytest.mark.parametrize("spec, count, message", [
    ("all", 0, "--devices all: no CUDA device is visible"),
    ("cuda:2", 2, "--devices: cuda:2 does not exist; 2 CUDA device(s) are visible (cuda:0..cuda:1)"),
    ("cuda:0", 0, "--devices: cuda:0 asked for CUDA but no CUDA device is visible"),
    ("gpu0", 2, "--devices: 'gpu0' is not a device"),
    ("cuda:x", 2, "--devices: 'cuda:x' is not a device"),
    ("cuda:0,cuda", 2, "--devices: cuda:0 is listed twice"),
])
def test_bad_device_lists(spec, count, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        resolve_devices(spec, cuda_count=count)
