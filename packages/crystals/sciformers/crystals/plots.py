"""Report figures of the crystals task, drawn from the predictions each run saves."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np


def parity_figure(found: dict[str, dict[str, Any]]) -> plt.Figure:
    """Predicted against EMT formation energy (meV/atom), one panel per model.

    Args:
        found: model -> saved predictions with ``y_true`` and ``y_pred`` in eV/atom.
    """
    names = sorted(found)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.3), squeeze=False)
    for ax, name in zip(axes[0], names):
        y, p = 1000 * np.asarray(found[name]["y_true"]), 1000 * np.asarray(found[name]["y_pred"])
        lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=1)
        ax.scatter(y, p, s=5, alpha=0.6)
        ax.set_title(f"{name}\nMAE {np.abs(y - p).mean():.1f} meV/atom", fontsize=9)
        ax.set_xlabel("EMT E_form (meV/atom)")
    axes[0][0].set_ylabel("predicted (meV/atom)")
    fig.tight_layout()
    return fig
