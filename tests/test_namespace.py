"""Packaging: sciformers is a PEP 420 namespace; no portion may ship sciformers/__init__.py."""

from pathlib import Path

import sciformers

ROOT = Path(__file__).resolve().parents[1]


def test_no_namespace_init_file_in_the_tree():
    offenders = [p for p in ROOT.glob("**/sciformers/__init__.py") if ".venv" not in p.parts]
    assert offenders == []


def test_every_portion_is_importable_through_the_namespace():
    paths = {Path(p).resolve() for p in sciformers.__path__}
    for portion in ("shared/attention", "shared/core", "shared/evaluation"):
        assert (ROOT / portion / "sciformers").resolve() in paths
    assert getattr(sciformers, "__file__", None) is None


def test_pyproject_lists_every_portion():
    text = (ROOT / "pyproject.toml").read_text()
    portions = sorted({str(p.parent.relative_to(ROOT)) for p in ROOT.glob("*/*/sciformers") if ".venv" not in p.parts})
    for portion in portions:
        assert f'"{portion}/sciformers"' in text, f"{portion} missing from wheel packages"
        assert f'"{portion}"' in text, f"{portion} missing from dev-mode-dirs"
