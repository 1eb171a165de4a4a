"""Report figures: discovered shapelets on example series of their class, and confusion matrices."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np


def shapelet_figure(classes: list[str], shapelets: list[dict[str, Any]], title: str,
                    max_classes: int = 8) -> plt.Figure:
    """The best shapelet of each class drawn on the training series it was cut from.

    Args:
        classes: class names indexed by the shapelets' integer labels.
        shapelets: dicts with ``label``, ``channel``, ``start``, ``end``, ``values``, ``info_gain``
            and ``source`` (the channel of the padded training series it was cut from), best first
            within each class.
        title: figure title.
        max_classes: at most this many panels.
    """
    best: dict[int, dict[str, Any]] = {}
    for s in shapelets:
        best.setdefault(int(s["label"]), s)
    labels = sorted(best)[:max_classes]
    cols = min(4, len(labels))
    rows = int(np.ceil(len(labels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.3 * rows), squeeze=False)
    for ax in axes.flat[len(labels):]:
        ax.axis("off")
    for ax, label in zip(axes.flat, labels):
        s = best[label]
        ax.plot(s["source"], color="0.6", lw=1)
        ax.plot(np.arange(s["start"], s["end"]), s["values"], color="C3", lw=2)
        ax.axvspan(s["start"], s["end"] - 1, color="C3", alpha=0.12)
        ax.set_title(f"{classes[label]}: ch {s['channel']}, IG {s['info_gain']:.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def confusion_figure(matrices: dict[str, np.ndarray], classes: list[str], title: str) -> plt.Figure:
    """One row-normalised confusion matrix per model (true rows, predicted columns), summed over seeds."""
    names = list(matrices)
    fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names) + 0.4, 2.8), squeeze=False)
    ticks = np.arange(len(classes))
    short = [c[:6] for c in classes]
    for ax, name in zip(axes[0], names):
        m = matrices[name].astype(float)
        norm = m / np.maximum(m.sum(1, keepdims=True), 1)
        ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        ax.set_title(name, fontsize=8)
        ax.set_xticks(ticks, short, fontsize=6, rotation=90)
        ax.set_yticks(ticks, short, fontsize=6)
        ax.set_xlabel("predicted", fontsize=7)
        if len(classes) <= 12:
            for i in ticks:
                for j in ticks:
                    if m[i, j]:
                        ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=6,
                                color="white" if norm[i, j] > 0.5 else "black")
    axes[0, 0].set_ylabel("true", fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
