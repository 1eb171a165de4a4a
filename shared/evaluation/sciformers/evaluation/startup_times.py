"""Start-up wall time of the CLI beside ``python -c "import torch"``, measured side by side.

    python -m sciformers.evaluation.startup_times [--repeats 5]      # or: make startup

Each repeat runs every command once, in turn, in fresh interpreters (so a machine whose load
changes affects every command alike); the table gives the median and the fastest run of each,
and the median as a ratio to ``import torch``'s median. The targets: ``sciformers --help``
at most 1.5 s, ``sciformers list`` at most 1.2x ``import torch``, and ``sciformers predict`` at
most 2x ``import torch`` plus the checkpoint's load. The predict rows use a ListOps checkpoint
trained for a few steps first (``attention/listops`` at the smoke preset, in a temporary folder);
``import torch + load`` is ``import torch`` followed by reading that checkpoint's safetensors.
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


def commands(checkpoint: Path, predictions: Path) -> dict[str, list[str]]:
    """The commands timed, by label; ``predict`` reads ``checkpoint`` and writes under
    ``predictions/<repeat>`` (a new folder each time)."""
    cli = _cli()
    load = f"import torch; from safetensors.torch import load_file; load_file({str(checkpoint / 'model.safetensors')!r})"
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "sciformers --help": [*cli, "--help"],
        "sciformers list": [*cli, "list"],
        "sciformers predict pde --help": [*cli, "predict", "pde", "--help"],
        "import torch + load": [sys.executable, "-c", load],
        "sciformers predict attention": [*cli, "predict", "attention", "--checkpoint", str(checkpoint),
                                         "--out", str(predictions / "{repeat}"), "[MAX 2 9 [MIN 4 7 ] 0 ]"],
    }


def measure(repeats: int = 5) -> dict[str, list[float]]:
    """Wall seconds of each command, ``repeats`` times, the commands alternating."""
    with tempfile.TemporaryDirectory() as tmp:
        return _measure(commands(listops_checkpoint(Path(tmp)), Path(tmp) / "predictions"), repeats)


def _measure(timed: dict[str, list[str]], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in timed}
    for repeat in range(repeats):
        for name, command in timed.items():
            command = [arg.replace("{repeat}", str(repeat)) for arg in command]
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
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
    load = statistics.median(times["import torch + load"]) - torch_median
    bound = 2 * torch_median + max(load, 0.0)
    predict = statistics.median(times["sciformers predict attention"])
    lines.append(f"\n`sciformers predict attention`: {predict:.3f} s against 2 x import torch + load = {bound:.3f} s "
                 f"({predict / bound:.2f} of the bound)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(table(measure(args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
