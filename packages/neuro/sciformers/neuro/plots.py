"""Report figures: real vs generated raster, inferred vs true connectivity, decoded vs true behaviour.

Each is drawn from the per-job artifacts the task saves (``<model>_seed<s>.npz``, keys below), so
a report of an old run redraws them. Imported only by the task (the harness sets the backend).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import metric_bar_plot

RASTER = ("raster_real_times", "raster_real_ids", "raster_gen_times", "raster_gen_ids")
BEHAVIOR = ("behavior_t", "behavior_true", "behavior_pred")


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
    """The true weights beside each inferred score (0: no connection), diagonals blanked."""
    fig, axes = plt.subplots(1, 1 + len(scores), figsize=(3.0 * (1 + len(scores)), 3.0))
    panels = [("true W (mV)", weights)] + list(scores.items())
    for ax, (title, m) in zip(np.atleast_1d(axes), panels):
        m = m.astype(float).copy()
        np.fill_diagonal(m, np.nan)
        lim = np.nanmax(np.abs(m)) or 1.0
        ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("target j")
        ax.set_ylabel("source i")
    fig.tight_layout()
    return fig


def behavior(t: np.ndarray, true: np.ndarray, preds: dict[str, np.ndarray]) -> plt.Figure:
    """Decoded (all training labels) vs true behaviour (z-scored speed) over the test block, one line per model."""
    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.plot(t, true, lw=1, c="k", label="true speed")
    for i, (name, pred) in enumerate(preds.items()):
        ax.plot(t, pred, lw=1, c=f"C{i + 1}", label=f"{name} (100% labels)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("speed (z)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def figures(saved: dict[str, dict[str, np.ndarray]]) -> dict[str, plt.Figure]:
    """The figures drawn from each model's saved artifact (``model -> arrays``, in report order)."""
    out: dict[str, plt.Figure] = {}
    rasters = [a for a in saved.values() if all(k in a for k in RASTER)]
    if rasters:
        out["raster"] = raster(*(rasters[0][k] for k in RASTER))
    scores = {f"{name} ({key.split('_')[1]})" if "_" in key else name: a[key] for name, a in saved.items()
              for key in ("connectivity", "connectivity_attention") if key in a}
    weights = next((a["weights"] for a in saved.values() if "weights" in a), None)
    if weights is not None and scores:
        out["connectivity"] = connectivity(weights, scores)
    decoded = {name: a for name, a in saved.items() if all(k in a for k in BEHAVIOR)}
    if decoded:
        first = next(iter(decoded.values()))
        out["behavior"] = behavior(first["behavior_t"], first["behavior_true"],
                                   {name: a["behavior_pred"] for name, a in decoded.items()})
    return out
