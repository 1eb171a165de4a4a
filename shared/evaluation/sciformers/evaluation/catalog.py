"""What the registries hold, readable without importing torch or any domain.

``sciformers list``, ``sciformers data`` (no name) and ``sciformers predict [DOMAIN] --help``
answer from ``catalog.json`` (and ``sciformers predict DOMAIN`` imports only the module its
predictor lives in, not the domain's whole harness) beside this module: a static description of every registered
model, task, attention variant, dataset and predictor, generated from the live registries by

    python -m sciformers.evaluation.catalog          # or: make catalog

A test (``tests/evaluation/test_catalog.py``) rebuilds it from the registries and compares, so
a registration that changes without regenerating the file fails the test suite instead of
going stale. Pipelines are listed live from the YAML files (a directory listing, no import).

This module imports only the standard library: it is what keeps ``sciformers --help`` and
``sciformers list`` well under the time of ``import torch``.
"""

from __future__ import annotations

import importlib.resources
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_PRESET = "smoke"
CATALOG_FILE = Path(__file__).with_name("catalog.json")
SECTIONS = ("pipelines", "models", "tasks", "attention", "datasets")


def pipelines_root() -> Path:
    """The folder holding ``<domain>/<name>.yaml``: the checkout's ``pipelines/`` or the wheel's copy."""
    checkout = Path(__file__).resolve().parents[4] / "pipelines"
    if checkout.is_dir():
        return checkout
    return Path(str(importlib.resources.files("sciformers.evaluation") / "_pipelines"))


def list_pipelines() -> list[str]:
    """Names (``domain/name``) of every shipped pipeline, sorted."""
    root = pipelines_root()
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.glob("*/*.yaml"))


def _shipped(obj: Any) -> bool:
    """Whether ``obj`` (a factory, a task, a build function) is sciformers' own, not a test's or a user's."""
    module = getattr(obj, "__module__", None) or type(obj).__module__
    return module.startswith("sciformers.")


def build_catalog() -> dict[str, Any]:
    """The catalog from the live registries (imports every domain's task modules: seconds).

    Only sciformers' own entries are described: a test's or a script's registrations are left out.
    """
    from sciformers.attention import get_attention_spec, list_attention
    from sciformers.core import get_model_spec, list_models
    from sciformers.evaluation.datasets import _DATASETS, get_predictor, list_predictors
    from sciformers.evaluation.tasks import get_task, import_all_tasks, list_tasks

    import_all_tasks()
    models = [get_model_spec(m) for m in list_models()]
    tasks = [get_task(t) for t in list_tasks()]
    attention = [get_attention_spec(a) for a in list_attention()]
    predictors = {d: get_predictor(d) for d in list_predictors()}
    return {
        "models": {m.name: m.kind for m in models if _shipped(m.factory)},
        "tasks": {t.name: t.description for t in tasks if _shipped(t)},
        "attention": {a.name: {"kind": a.kind, "description": a.description} for a in attention if _shipped(a.factory)},
        "datasets": {name: {"description": e.description, "aliases": list(e.aliases)}
                     for name, e in sorted(_DATASETS.items()) if _shipped(e.build)},
        "predictors": {d: {"inputs": p.inputs, "options": dict(p.options), "module": p.run.__module__}
                       for d, p in predictors.items() if _shipped(p.run)},
    }


def load_catalog() -> dict[str, Any]:
    """The committed catalog (``catalog.json``).

    Raises:
        FileNotFoundError: when the file is missing, naming the command that writes it.
    """
    if not CATALOG_FILE.is_file():
        raise FileNotFoundError(f"{CATALOG_FILE} is missing; write it with 'python -m sciformers.evaluation.catalog'")
    return json.loads(CATALOG_FILE.read_text())


def section_lines(what: str, catalog: dict[str, Any]) -> list[str]:
    """The lines ``sciformers list WHAT`` prints."""
    if what == "pipelines":
        return list_pipelines()
    if what == "models":
        return [f"{name:36s} {kind}" for name, kind in catalog["models"].items()]
    if what == "tasks":
        return [f"{name}  {description}" for name, description in catalog["tasks"].items()]
    if what == "attention":
        return [f"{name:18s} {a['kind']:8s} {a['description']}" for name, a in catalog["attention"].items()]
    if what == "datasets":
        return [f"{name:30s} {d['description']}" for name, d in catalog["datasets"].items()]
    raise KeyError(f"unknown section {what!r}; choose from {', '.join(SECTIONS)}")


def write_catalog(path: Path = CATALOG_FILE) -> Path:
    """Rebuild the catalog from the registries and write it to ``path``."""
    path.write_text(json.dumps(build_catalog(), indent=1, ensure_ascii=False) + "\n")
    return path


if __name__ == "__main__":
    print(write_catalog(Path(sys.argv[1]) if len(sys.argv) > 1 else CATALOG_FILE))
