"""Training-data tests run torch single-threaded: the maps are small, and on a busy 2-core machine
intra-op threads only contend (64 x 64 materials were ~30x slower with 2 threads under load)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread_torch():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
