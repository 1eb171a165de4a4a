"""Report figures: real vs generated raster, inferred vs true connectivity, decoded vs true behaviour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sciformers.evaluation.records import RunRecord  # noqa: E402
from sciformers.evaluation.report import metric_bar_plot  # noqa: E402


def metric_bars(records: list[RunRecord], metric: str, baseline: str) -> plt.Figure:
    """The shared bar chart of one metric per model."""
    return metric_bar_plot(records, metric, baseline)


def raster(real_times: np.ndarray, real_ids: np.ndarray, generated_times: np.ndarray, generated_ids: np.ndarray,
           ) -> plt.Figure:
    """Side-by-side rasters (spike times, neuron ids) of a real repeat and a closed-loop generation of the
    same interval."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for ax, times, ids, title in ((axes[0], real_times, real_ids, "real (repeat 1)"),
                                  (axes[1], generated_times, generated_ids, "generated (closed loop)")):
        ax.scatter(times, ids, s=2, c="k", marker="|")
        ax.set_title(title)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("neuron")
    fig.tight_layout()
    return fig


def connectivity(weights: np.ndarray, scores: dict[str, np.ndarray]) -> plt.Figure:
    """The true weights beside each model's inferred score (diagonals blanked)."""
    fig, axes = plt.subplots(1, 1 + len(scores), figsize=(3.0 * (1 + len(scores)), 3.0))
    panels = [("true W (mV)", weights)] + list(scores.items())
    for ax, (title, m) in zip(np.atleast_1d(axes), panels):
        m = m.astype(float).copy()
        np.fill_diagonal(m, np.nan)
        lim = np.nanmax(np.abs(m - (1.0 if title.startswith("neuro") else 0.0))) or 1.0
        centre = 1.0 if title.startswith("neuro") else 0.0
        ax.imshow(m, cmap="RdBu_r", vmin=centre - lim, vmax=centre + lim)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("target j")
        ax.set_ylabel("source i")
    fig.tight_layout()
    return fig


def behavior(t: np.ndarray, true: np.ndarray, pred: np.ndarray) -> plt.Figure:
    """Decoded vs true behaviour (z-scored speed) over the test block."""
    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.plot(t, true, lw=1, c="k", label="true speed")
    ax.plot(t, pred, lw=1, c="C1", label="Neuroformer (100% labels)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("speed (z)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def figure_arrays(store: dict[str, Any]) -> dict[str, np.ndarray]:
    """``store`` (arrays, or tuples of arrays) as flat arrays for one ``.npz``; a tuple's parts become ``key#0``,
    ``key#1``..."""
    arrays: dict[str, np.ndarray] = {}
    for key, value in store.items():
        if isinstance(value, tuple):
            arrays |= {f"{key}#{i}": np.asarray(part) for i, part in enumerate(value)}
        else:
            arrays[key] = np.asarray(value)
    return arrays


def load_figure_data(path: Path) -> dict[str, Any]:
    """The ``store`` whose :func:`figure_arrays` were saved to ``path``."""
    store: dict[str, Any] = {}
    parts: dict[str, dict[int, np.ndarray]] = {}
    with np.load(path) as saved:
        for key in saved.files:
            base, sep, index = key.rpartition("#")
            if sep:
                parts.setdefault(base, {})[int(index)] = saved[key]
            else:
                store[key] = saved[key]
    return store | {key: tuple(p[i] for i in sorted(p)) for key, p in parts.items()}


def figures(store: dict[str, Any]) -> dict[str, plt.Figure]:
    """The figures whose data a run left in ``store`` (the last seed's)."""
    out: dict[str, plt.Figure] = {}
    if "raster" in store:
        out["raster"] = raster(*store["raster"])
    scores = {k[5:]: v for k, v in store.items() if k.startswith("conn_")}
    if "weights" in store and scores:
        out["connectivity"] = connectivity(store["weights"], scores)
    if "behavior" in store:
        out["behavior"] = behavior(*store["behavior"])
    return out
