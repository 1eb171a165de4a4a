import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread (and do not spin against other test processes)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Generated datasets go to a per-test cache, never the user's."""
    monkeypatch.setenv("SCIFORMERS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def brian2():
    """Brian2 (numpy target), or skip where it cannot import (e.g. numpy >= 2.4)."""
    from sciformers.neuro.circuit import import_brian2

    try:
        return import_brian2()
    except ImportError as err:
        pytest.skip(str(err))
