"""Report figures for forecasting: error against horizon, and forecasts against the truth."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import horizon_plot


def error_vs_horizon_plot(records: list[RunRecord], baseline: str) -> plt.Figure:
    """MSE and MAE (mean over seeds, ± std band) against the horizon, one line per model (the shared
    :func:`~sciformers.evaluation.report.horizon_plot`, one panel each)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, metric in zip(axes, ("mse", "mae")):
        horizon_plot(records, baseline, f"{metric}_h{{h}}", f"{metric.upper()} (standardised)",
                     f"{metric.upper()} against horizon", log_y=False, log_x=True, ax=ax)
    return fig


def forecast_plot(samples: dict[str, Any], variate: int = -1) -> plt.Figure:
    """Lookback, truth and every model's forecast of one variate, for a few test windows.

    Args:
        samples: ``{"x": (K, L, N), "y": (K, H, N), "forecasts": {model: (K, H, N)}, "windows": [...],
            "columns": [...]}`` on the standardised scale.
        variate: which variate to draw (default: the last, ``OT`` for ETT).
    """
    x, y, windows = samples["x"], samples["y"], samples["windows"]
    k, seq_len, horizon = x.shape[0], x.shape[1], y.shape[1]
    fig, axes = plt.subplots(k, 1, figsize=(10, 2.4 * k), squeeze=False)
    t_past, t_future = np.arange(-seq_len, 0), np.arange(horizon)
    for row, ax in enumerate(axes[:, 0]):
        ax.plot(t_past, x[row, :, variate], color="0.3", lw=1, label="lookback")
        ax.plot(t_future, y[row, :, variate], color="k", lw=1.5, label="truth")
        for i, (name, pred) in enumerate(sorted(samples["forecasts"].items())):
            ax.plot(t_future, pred[row, :, variate], lw=1, color=f"C{i}", label=name)
        ax.axvline(0, color="0.7", lw=0.8)
        ax.set_title(f"test window {windows[row]}, variate {samples['columns'][variate]}", fontsize=9)
    axes[0, 0].legend(fontsize=7, ncol=4)
    axes[-1, 0].set_xlabel("steps from forecast origin")
    fig.tight_layout()
    return fig
