"""Fixtures every test area shares."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Generated datasets go to a per-test cache, never the user's."""
    monkeypatch.setenv("SCIFORMERS_CACHE", str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: the test models are tiny, and on a small shared CPU extra threads only spin."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
