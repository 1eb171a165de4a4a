"""Report figures for forecasting: error against horizon, and forecasts against the truth."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from sciformers.evaluation.records import RunRecord


def error_vs_horizon_plot(records: list[RunRecord], baseline: str) -> plt.Figure:
    """MSE and MAE (mean over seeds, std as error bars) against the horizon, one line per model."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    by_model: dict[str, list[RunRecord]] = defaultdict(list)
    for r in records:
        by_model[r.model].append(r)
    for ax, metric in zip(axes, ("mse", "mae")):
        for i, (name, rs) in enumerate(sorted(by_model.items(), key=lambda kv: (kv[0] != baseline, kv[0]))):
            hs = sorted({int(k.split("_h")[1]) for r in rs for k in r.metrics if k.startswith(metric + "_h")})
            vals = [[r.metrics[f"{metric}_h{h}"] for r in rs] for h in hs]
            style = {"color": "0.5", "linestyle": "--"} if name == baseline else {"color": f"C{i}"}
            ax.errorbar(hs, [np.mean(v) for v in vals], yerr=[np.std(v) for v in vals], marker="o", capsize=3,
                        label=name, **style)
        ax.set_xscale("log", base=2)
        ticks = sorted({int(k.split("_h")[1]) for r in records for k in r.metrics})
        ax.set_xticks(ticks, [str(h) for h in ticks])
        ax.minorticks_off()
        ax.set_xlabel("horizon (steps)")
        ax.set_ylabel(f"{metric.upper()} (standardised)")
        ax.set_title(f"{metric.upper()} against horizon")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
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
