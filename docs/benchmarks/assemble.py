"""Rebuild BENCHMARKS.md: its head (up to the ``<!-- domain sections -->`` marker), then every
domain's ``docs/benchmarks/<dir>/SECTION.md`` in a fixed order, image links made relative to
the repository root. Run from the repository root: ``python docs/benchmarks/assemble.py``."""

import re
from pathlib import Path

ORDER = ("crystals", "pde", "timeseries_classification", "timeseries_forecasting", "neuro", "genomics", "planning",
         "gas")
MARKER = "<!-- domain sections -->"


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    target = root / "BENCHMARKS.md"
    head = target.read_text().split(MARKER)[0] + MARKER + "\n\n"
    sections = []
    for name in ORDER:
        text = (root / "docs" / "benchmarks" / name / "SECTION.md").read_text().strip()
        sections.append(re.sub(r"\]\((?!https?://|/|docs/)([^)]+\.(?:png|svg))\)", rf"](docs/benchmarks/{name}/\1)", text))
    target.write_text(head + "\n\n".join(sections) + "\n")


if __name__ == "__main__":
    main()
