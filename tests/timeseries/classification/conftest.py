import pytest

pytest.importorskip("sktime")
