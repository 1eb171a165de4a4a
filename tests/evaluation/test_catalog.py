"""The catalog behind ``sciformers list``: it matches the live registries, and the CLI's fast
paths (``--help``, ``list``, ``data``, ``predict [DOMAIN] --help``) import neither torch nor any domain."""

import re
import subprocess
import sys

import pytest

from sciformers.evaluation.catalog import build_catalog, list_pipelines, load_catalog, pipelines_root
from sciformers.evaluation.datasets import get_dataset

DOMAINS_AND_SUITES = {p.name for p in pipelines_root().iterdir() if p.is_dir()}


@pytest.fixture(scope="module")
def live():
    return build_catalog()


def test_catalog_matches_the_live_registries(live):
    committed = load_catalog()
    for section in live:
        assert committed.get(section) == live[section], (
            f"catalog.json's {section!r} is stale: run 'make catalog' (python -m sciformers.evaluation.catalog)")
    assert set(committed) == set(live)


def test_dataset_names_are_domain_dot_snake_case(live):
    for name in live["datasets"]:
        assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+", name), f"dataset {name!r}: expected <domain>.<snake_case>"
        assert name.split(".")[0] in DOMAINS_AND_SUITES, f"dataset {name!r}: {name.split('.')[0]!r} is no domain"


@pytest.mark.parametrize("former, name", [("listops", "attention.listops"), ("ettlike", "timeseries.ettlike"),
                                          ("genomics_reads", "genomics.pathogen_reads"),
                                          ("planning_maze", "planning.maze"), ("planning_sokoban", "planning.sokoban")])
def test_a_former_dataset_name_still_resolves(former, name):
    assert get_dataset(former) is get_dataset(name)


def _run_cli(*args: str) -> tuple[str, list[str]]:
    """Run the CLI in a fresh interpreter; its output and the sciformers/torch modules it loaded."""
    code = ("import sys, io, contextlib\nfrom sciformers.evaluation.cli import main\nbuf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n    try:\n        code = main(sys.argv[1:])\n"
            "    except SystemExit as e:\n        code = e.code\n"
            "print(buf.getvalue())\nprint('@@', code, *sorted(m for m in sys.modules if m == 'torch' or "
            "m.startswith(('torch.', 'sciformers.', 'matplotlib', 'pydantic'))))")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    out, _, tail = done.stdout.rpartition("@@ ")
    rc, *modules = tail.split()
    assert rc in ("0", "None"), done.stderr
    return out, modules


@pytest.mark.parametrize("args", [("--help",), ("list",), ("list", "tasks"), ("data",), ("predict", "--help"),
                                  ("predict", "pde", "--help")])
def test_fast_paths_import_no_torch_harness_or_domain(args):
    out, modules = _run_cli(*args)
    assert out.strip()
    assert modules == ["sciformers.evaluation", "sciformers.evaluation.catalog", "sciformers.evaluation.cli"], modules


def test_list_and_predict_help_read_the_catalog():
    out, _ = _run_cli("list")
    for section in ("pipelines:", "models:", "tasks:", "attention:", "datasets:"):
        assert section in out
    assert "crystals.icomformer" in out and "attention.listops" in out and list_pipelines()[0] in out
    out, _ = _run_cli("predict", "pde", "--help")
    assert "steps" in out and "variable" in out
    out, _ = _run_cli("predict", "--help")
    assert "crystals" in out and "[options: steps, variable]" in out
