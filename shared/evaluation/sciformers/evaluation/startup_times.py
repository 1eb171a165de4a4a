"""Start-up wall time of the CLI beside ``python -c "import torch"``, measured side by side.

    python -m sciformers.evaluation.startup_times [--repeats 5]      # or: make startup

Each repeat runs every command once, in turn, in fresh interpreters (so a machine whose load
changes affects every command alike); the table gives the median and the fastest run of each,
and the median as a ratio to ``import torch``'s median. The targets: ``sciformers --help``
at most 1.5 s, ``sciformers list`` at most 1.2x ``import torch``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def commands() -> dict[str, list[str]]:
    """The commands timed, by label."""
    script = Path(sys.executable).with_name("sciformers")
    cli = [str(script)] if script.is_file() else [sys.executable, "-m", "sciformers.evaluation.cli"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "sciformers --help": [*cli, "--help"],
        "sciformers list": [*cli, "list"],
        "sciformers predict pde --help": [*cli, "predict", "pde", "--help"],
    }


def measure(repeats: int = 5) -> dict[str, list[float]]:
    """Wall seconds of each command, ``repeats`` times, the commands alternating."""
    timed = commands()
    times: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(repeats):
        for name, command in timed.items():
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - start)
    return times


def table(times: dict[str, list[float]]) -> str:
    """A Markdown table: median, fastest, and the median's ratio to ``import torch``'s."""
    torch_median = statistics.median(times["python -c 'import torch'"])
    lines = ["| command | median s | fastest s | median / import torch |", "|---|---|---|---|"]
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(f"| `{name}` | {median:.3f} | {min(values):.3f} | {median / torch_median:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(table(measure(args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
