import pytest

pytest.importorskip("xarray")
