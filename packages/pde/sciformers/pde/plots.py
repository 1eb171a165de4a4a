"""Figures of the ``pde.kolmogorov2d`` and ``pde.smoke3d`` reports: example rollout fields (error growth with horizon is
the shared :func:`~sciformers.evaluation.report.horizon_plot`).

Imported only by the task module (the harness side), so ``import sciformers.pde`` loads no matplotlib.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np



def field_figure(saved: dict[str, Path], horizons: Sequence[int],
                 title: str = "vorticity: truth, prediction, error (test sample 0)") -> plt.Figure:
    """Truth, then each model's prediction and error (in ``saved``'s order) at ``horizons``; the
    saved fields are ``(n, H, X, Y)`` (the second axis drawn upwards)."""
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
    fig.suptitle(title, fontsize=7)
    fig.tight_layout(pad=0.3, rect=(0, 0, 1, 0.97))
    return fig
