import pytest


@pytest.fixture
def brian2():
    """Brian2 (numpy target), or skip where it cannot import (e.g. numpy >= 2.4)."""
    from sciformers.neuro.circuit import import_brian2

    try:
        return import_brian2()
    except ImportError as err:
        pytest.skip(str(err))
