import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Generated datasets go to a per-test cache, never the user's."""
    monkeypatch.setenv("SCIFORMERS_CACHE", str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on a small shared CPU, oversubscribed threads are many times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
