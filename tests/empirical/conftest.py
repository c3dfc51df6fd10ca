"""Shared fixtures of the empirical/ tests."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The networks in these tests are tiny: on a shared 2-core machine intra-op threads only add contention."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
