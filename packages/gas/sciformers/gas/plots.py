"""Report figures for the gas task: probability-of-detection curves and frames with plume outlines."""

from __future__ import annotations

import statistics
from collections import defaultdict

import matplotlib.pyplot as plt
import numpy as np

from sciformers.evaluation.records import RunRecord


def pod_figure(records: list[RunRecord], baseline: str, title: str) -> plt.Figure:
    """Probability of detection against flow rate, one line per model (mean over seeds, std as band)."""
    curves: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        for key, value in r.metrics.items():
            if key.startswith("pod_"):
                curves[r.model][float(key[4:])].append(value)
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for i, model in enumerate(sorted(curves, key=lambda m: (m != baseline, m))):
        flows = sorted(curves[model])
        mean = np.array([statistics.fmean(curves[model][f]) for f in flows])
        std = np.array([statistics.stdev(curves[model][f]) if len(curves[model][f]) > 1 else 0.0 for f in flows])
        style = {"color": "0.5", "linestyle": "--"} if model == baseline else {"color": f"C{i}"}
        ax.plot(flows, mean, marker="o", label=model, **style)
        ax.fill_between(flows, mean - std, mean + std, alpha=0.15, color=style["color"])
    ax.axhline(0.9, color="k", linewidth=0.6, linestyle=":")
    ax.set_xlabel("flow rate (SCCM)")
    ax.set_ylabel("probability of detection")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def example_figure(examples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> plt.Figure:
    """Rows of test frames per model: true plume outline (green) and predicted outline (red)."""
    models = sorted(examples)
    n = max(len(examples[m][0]) for m in models)
    fig, axes = plt.subplots(len(models), n, figsize=(2.0 * n, 2.1 * len(models)), squeeze=False)
    for row, model in enumerate(models):
        frames, truth, pred = examples[model]
        for col in range(n):
            ax = axes[row, col]
            ax.axis("off")
            if col >= len(frames):
                continue
            ax.imshow(frames[col], cmap="gray")
            if (truth[col] > 0).any():
                ax.contour(truth[col] > 0, levels=[0.5], colors="lime", linewidths=0.8)
            if (pred[col] > 0).any():
                ax.contour(pred[col] > 0, levels=[0.5], colors="red", linewidths=0.8)
            if col == 0:
                ax.set_title(model, fontsize=8, loc="left")
    fig.suptitle("test frames: true plume (green), predicted (red)", fontsize=9)
    fig.tight_layout()
    return fig
