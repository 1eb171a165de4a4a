import pytest

pytest.importorskip("sktime")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Generated datasets go to a per-test cache, never the user's."""
    monkeypatch.setenv("SCIFORMERS_CACHE", str(tmp_path / "cache"))
