"""Shared test fixtures."""

import pytest


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module: two OpenMP threads on a shared 2-core machine can be
    100x slower than one."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
