"""Figures of the ``pde.kolmogorov2d`` report: error growth with horizon and example rollout fields.

Imported only by the task module (the harness side), so ``import sciformers.pde`` loads no matplotlib.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import mean_std
from sciformers.pde.metrics import MAX_HORIZON


def error_growth(records: list[RunRecord], baseline: str) -> plt.Figure:
    """``rel_l2_h{h}`` against the horizon per model, mean ± std over seeds (log scale)."""
    by_model: dict[str, list[RunRecord]] = defaultdict(list)
    for r in records:
        by_model[r.model].append(r)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for i, name in enumerate(sorted(by_model, key=lambda n: (n != baseline, n))):
        hs = [h for h in range(1, MAX_HORIZON + 1) if all(f"rel_l2_h{h}" in r.metrics for r in by_model[name])]
        stats = [mean_std([r.metrics[f"rel_l2_h{h}"] for r in by_model[name]]) for h in hs]
        m, s = np.array([a for a, _ in stats]), np.array([b for _, b in stats])
        color = "0.5" if name == baseline else f"C{i}"
        ax.plot(hs, m, marker="o", ms=3, color=color, label=name)
        ax.fill_between(hs, m - s, m + s, color=color, alpha=0.2)
    ax.set_xlabel("rollout step")
    ax.set_ylabel("relative L2")
    ax.set_yscale("log")
    ax.set_title("error growth with horizon (mean ± std over seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def field_figure(saved: dict[str, Path], horizons: Sequence[int]) -> plt.Figure:
    """Truth, then each model's prediction and error (in ``saved``'s order) at ``horizons``."""
    runs = {name: np.load(path) for name, path in saved.items()}
    target = next(iter(runs.values()))["target"][0]
    shown = [h for h in horizons if h <= target.shape[0]]
    rows = 1 + 2 * len(runs)
    fig, axes = plt.subplots(rows, len(shown), figsize=(0.4 + 1.0 * len(shown), 0.3 + 0.95 * rows), squeeze=False)
    vmax = float(np.abs(target).max())
    panels = [("truth", target, "RdBu_r")]
    for name, arrays in runs.items():
        pred = arrays["pred"][0]
        panels += [(f"{name}", pred, "RdBu_r"), (f"{name} error", pred - target, "PuOr_r")]
    for row, (label, field, cmap) in enumerate(panels):
        for col, h in enumerate(shown):
            ax = axes[row, col]
            ax.imshow(field[h - 1].T, origin="lower", cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"step {h}", fontsize=7)
            if col == 0:
                ax.set_ylabel(label, fontsize=6)
    fig.suptitle("vorticity: truth, prediction, error (test sample 0)", fontsize=7)
    fig.tight_layout(pad=0.3, rect=(0, 0, 1, 0.97))
    return fig
