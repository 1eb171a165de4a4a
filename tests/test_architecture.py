"""The package's shape: layering, lazy domain imports, and runner duties kept out of the tasks.

attention <- core <- evaluation <- (attention_suites, each domain); no domain imports another, and
shared code imports no domain (an import-linter contract, checked on the source with ``ast``).
Importing a domain loads its models only: its tasks, the harness and matplotlib load on demand.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = {"attention": {"attention"}, "core": {"attention", "core"},
          "evaluation": {"attention", "core", "evaluation"},
          "attention_suites": {"attention", "core", "evaluation", "attention_suites"}}
DOMAINS = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "sciformers" / p.name).is_dir())
RUNNER_DUTIES = {
    "a seeding call": r"\b(seed_everything|manual_seed)\(",
    "a Trainer of its own": r"\bTrainer\(",
    "a checkpoint path": r"[\"']checkpoints[\"']",
    "a record of its own": r"\bctx\.record\(",
    "a resume check": r"\bis_done\(",
    "a model-list loop": r"\bfor\s+\w+(\s*,\s*\w+)*\s+in\s+(ctx\.models|entries)\b|\bfor\s+seed\s+in\b",
}


def portions() -> dict[str, Path]:
    found = {name: ROOT / "shared" / name / "sciformers" / name for name in SHARED}
    found |= {name: ROOT / "packages" / name / "sciformers" / name for name in DOMAINS}
    return found


def imported_portions(path: Path) -> set[str]:
    """``X`` of every ``sciformers.X`` the module imports, at top level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "sciformers" else [])
        else:
            continue
        out |= {n.split(".")[1] for n in names if n.startswith("sciformers.")}
    return out


@pytest.mark.parametrize("portion", sorted(SHARED) + DOMAINS)
def test_imports_follow_the_layers(portion):
    allowed = SHARED.get(portion, {"attention", "core", "evaluation", portion})
    for path in sorted(portions()[portion].rglob("*.py")):
        bad = imported_portions(path) - allowed
        assert not bad, f"{path.relative_to(ROOT)} imports sciformers.{', sciformers.'.join(sorted(bad))}"


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize("domain", DOMAINS)
def test_importing_a_domain_loads_no_harness(domain):
    loaded = _loaded_after(f"import sciformers.{domain}")
    heavy = [m for m in loaded if m.startswith(("sciformers.evaluation", "matplotlib", f"sciformers.{domain}.task"))]
    assert not heavy, f"import sciformers.{domain} loads {heavy[:5]}"


def test_importing_the_harness_loads_no_domain():
    loaded = _loaded_after("import sciformers.evaluation")
    assert not [m for m in loaded if m.split(".")[:2][-1] in set(DOMAINS) | {"attention_suites"}]


def test_matplotlib_backend_is_set_in_one_place():
    calls = [p for p in ROOT.glob("*/**/sciformers/**/*.py") if "matplotlib.use(" in p.read_text()]
    assert [p.relative_to(ROOT).as_posix() for p in calls] == ["shared/evaluation/sciformers/evaluation/report.py"]


@pytest.mark.parametrize("domain", DOMAINS)
def test_tasks_leave_the_loop_to_the_runner(domain):
    import importlib

    modules = importlib.import_module(f"sciformers.{domain}").TASK_MODULES
    for name in modules:
        path = ROOT / "packages" / domain / Path(*name.split(".")).with_suffix(".py")
        source = path.read_text()
        for duty, pattern in RUNNER_DUTIES.items():
            hit = re.search(pattern, source)
            assert hit is None, f"{path.relative_to(ROOT)} has {duty} ({hit.group(0)!r}); the shared runner owns it"
