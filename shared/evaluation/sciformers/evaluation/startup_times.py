"""Start-up wall time of the CLI beside ``python -c "import torch"``, measured side by side.

    python -m sciformers.evaluation.startup_times [--repeats 5]      # or: make startup

Each repeat runs every command once, in turn, in fresh interpreters (so a machine whose load
changes affects every command alike); the table gives the median and the fastest run of each,
and the median as a ratio to ``import torch``'s median. The targets: ``sciformers --help``
at most 1.5 s, ``sciformers list`` at most 1.2x ``import torch``, and ``sciformers predict`` at
most 2x ``import torch`` plus the checkpoint's load.

Three predicts run end to end on one small input each, with checkpoints made first in a temporary
folder: ``attention`` (a ListOps model trained for a few steps, ``attention/listops`` at the smoke
preset), ``crystals`` (an untrained small iComFormer, one CIF) and ``timeseries`` (a ShapeFormer
fitted for one epoch, one ``.ts`` file); ``import torch + load`` is ``import torch`` followed by
reading that checkpoint's safetensors. For every domain, ``predict DOMAIN (imports)`` times the
command up to its checkpoint read (the checkpoint folder is missing, so it stops there with its
error): the CLI plus everything the domain's predictor imports.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("sciformers")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sciformers.evaluation.cli"]


def listops_checkpoint(folder: Path) -> Path:
    """A ListOps softmax checkpoint trained for a few steps (the smoke preset) under ``folder``."""
    run = folder / "listops"
    subprocess.run([*_cli(), "run", "attention/listops", "--preset", "smoke", "--models", "softmax", "--quiet",
                    "--out", str(run)], stdout=subprocess.DEVNULL, check=True)
    return run / "checkpoints" / "softmax" / "seed0" / "final"


_CRYSTAL_SCRIPT = """
import sys
from pathlib import Path
from pymatgen.core import Lattice, Structure
from sciformers.core import create_model
folder = Path(sys.argv[1])
model = create_model("crystals.icomformer", preset="small", target_units="eV/atom", elements=[29, 79])
model.save(folder / "ckpt")
Structure(Lattice.cubic(3.8), ["Cu", "Au"], [[0, 0, 0], [0.5, 0.5, 0.5]]).to(filename=str(folder / "CuAu.cif"))
"""

_SERIES_SCRIPT = """
import sys
from pathlib import Path
from sciformers.timeseries import ShapeFormerClassifier, save_classifier
from sciformers.timeseries.classification.planted import PlantedConfig, generate_split
folder = Path(sys.argv[1])
config = PlantedConfig(seed=0, channels=2, length=40, motif_length=10, jitter=4)
train, test = generate_split(config, 12, 1), generate_split(config, 4, 2)
clf = ShapeFormerClassifier(**ShapeFormerClassifier.get_test_params()[0], random_state=0).fit(train.X, train.y)
save_classifier(clf, folder / "ckpt")
rows = [":".join(",".join(f"{v:.6f}" for v in channel) for channel in x) for x in test.X]
head = ["@problemName toy", "@timeStamps false", "@missing false", "@univariate false", "@equalLength true",
        "@seriesLength 40", "@classLabel false", "@data"]
(folder / "new.ts").write_text("\\n".join(head + rows) + "\\n")
"""


def domain_checkpoint(folder: Path, script: str, inputs: str) -> tuple[Path, Path]:
    """Run ``script`` (it writes ``ckpt/`` and ``inputs`` under ``folder``); the two paths."""
    folder.mkdir(parents=True)
    subprocess.run([sys.executable, "-c", script, str(folder)], stdout=subprocess.DEVNULL, check=True)
    return folder / "ckpt", folder / inputs


def _load(checkpoint: Path) -> str:
    return f"import torch; from safetensors.torch import load_file; load_file({str(checkpoint / 'model.safetensors')!r})"


def commands(folder: Path) -> dict[str, tuple[list[str], bool]]:
    """The commands timed, by label, each with whether it must succeed; predicts write under
    ``folder/predictions/<label>/<repeat>`` (a new folder each time)."""
    from sciformers.evaluation.catalog import load_catalog

    cli = _cli()
    listops = listops_checkpoint(folder)
    crystal, cif = domain_checkpoint(folder / "crystals", _CRYSTAL_SCRIPT, "CuAu.cif")
    series, ts = domain_checkpoint(folder / "timeseries", _SERIES_SCRIPT, "new.ts")
    checkpoints = {"attention": listops, "crystals": crystal, "timeseries": series}

    def predict(domain: str, checkpoint: Path, *inputs: str) -> list[str]:
        return [*cli, "predict", domain, "--checkpoint", str(checkpoint),
                "--out", str(folder / "predictions" / domain / "{repeat}"), *inputs]

    timed: dict[str, tuple[list[str], bool]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], True),
        "python -c 'import torch'": ([sys.executable, "-c", "import torch"], True),
        "sciformers --help": ([*cli, "--help"], True),
        "sciformers list": ([*cli, "list"], True),
        "sciformers predict pde --help": ([*cli, "predict", "pde", "--help"], True),
        **{f"import torch + load ({domain})": ([sys.executable, "-c", _load(path)], True)
           for domain, path in checkpoints.items()},
        "sciformers predict attention": (predict("attention", listops, "[MAX 2 9 [MIN 4 7 ] 0 ]"), True),
        "sciformers predict crystals": (predict("crystals", crystal, str(cif)), True),
        "sciformers predict timeseries": (predict("timeseries", series, str(ts)), True),
    }
    for domain in load_catalog()["predictors"]:
        timed[f"predict {domain} (imports)"] = (predict(domain, folder / "missing", "input"), False)
    return timed


def measure(repeats: int = 5) -> dict[str, list[float]]:
    """Wall seconds of each command, ``repeats`` times, the commands alternating."""
    with tempfile.TemporaryDirectory() as tmp:
        return _measure(commands(Path(tmp)), repeats)


def _measure(timed: dict[str, tuple[list[str], bool]], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in timed}
    for repeat in range(repeats):
        for name, (command, must_succeed) in timed.items():
            command = [arg.replace("{repeat}", str(repeat)) for arg in command]
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=must_succeed)
            times[name].append(time.perf_counter() - start)
    return times


def table(times: dict[str, list[float]]) -> str:
    """A Markdown table: median, fastest, and the median's ratio to ``import torch``'s; then
    ``predict``'s median against its bound, 2x ``import torch`` plus the checkpoint's load."""
    torch_median = statistics.median(times["python -c 'import torch'"])
    lines = ["| command | median s | fastest s | median / import torch |", "|---|---|---|---|"]
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(f"| `{name}` | {median:.3f} | {min(values):.3f} | {median / torch_median:.3f} |")
    lines.append("")
    for name, values in times.items():
        if name.startswith("sciformers predict ") and "--help" not in name:
            domain = name.removeprefix("sciformers predict ")
            load = statistics.median(times[f"import torch + load ({domain})"]) - torch_median
            bound = 2 * torch_median + max(load, 0.0)
            lines.append(f"- `{name}`: {statistics.median(values):.3f} s against 2 x import torch + load = "
                         f"{bound:.3f} s ({statistics.median(values) / bound:.2f} of the bound)")
        elif name.endswith("(imports)"):
            lines.append(f"- `{name}`: {statistics.median(values) / (2 * torch_median):.2f} of 2 x import torch")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(table(measure(args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
