import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Generated series go to a per-test cache, never the user's."""
    monkeypatch.setenv("SCIFORMERS_CACHE", str(tmp_path / "cache"))
