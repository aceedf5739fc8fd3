"""Fixtures for the room-texturing tests: torch single-threaded (small tensors on a busy 2-core
machine), and a small generated room of boxes (the glTF validator fixture is in tests/conftest.py)."""

from __future__ import annotations


import pytest
import torch

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
