"""Report figures of the pathogen-read task: loss curves, ROC curves, read-embedding projection.

Imported by the task module only (the harness sets matplotlib's backend).
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_curve


def loss_curve_plot(curves: dict[str, dict[int, list[dict[str, float]]]]) -> plt.Figure:
    """Pretraining validation loss against step, per model (and tokenizer) and seed: the causal LM's
    in bits per base (comparable across tokenizers), the masked LM's in nats per masked token."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for i, (name, by_seed) in enumerate(sorted(curves.items())):
        causal = not name.startswith("bidir_mlm")
        for j, (seed, hist) in enumerate(sorted(by_seed.items())):
            val = [h["val_loss"] / (np.log(2.0) if causal else 1.0) for h in hist]
            ax.plot([h["step"] for h in hist], val, color=f"C{i}", label=name if j == 0 else None)
    ax.set_xlabel("pretraining step")
    ax.set_ylabel("validation loss")
    ax.set_title("pretraining (causal: bits/bp; masked LM: nats/masked token)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def roc_plot(roc: dict[str, dict[int, tuple[list[float], list[int]]]]) -> plt.Figure:
    """Pathogen-detection ROC curve of each model (its first seed)."""
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    for i, (name, by_seed) in enumerate(sorted(roc.items())):
        scores, labels = by_seed[min(by_seed)]
        fpr, tpr, _ = roc_curve(labels, scores)
        ax.plot(fpr, tpr, color=f"C{i}", label=name)
    ax.plot([0, 1], [0, 1], color="0.7", ls="--")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title("pathogen vs background (test reads)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def embedding_plot(model: str, embeddings: np.ndarray, genomes: Sequence[str]) -> plt.Figure:
    """First two principal components of mean-pooled read embeddings, coloured by source genome."""
    x = embeddings - embeddings.mean(0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    xy = x @ vt[:2].T
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for i, g in enumerate(sorted(set(genomes))):
        sel = np.array([gg == g for gg in genomes])
        ax.scatter(xy[sel, 0], xy[sel, 1], s=6, alpha=0.6, color=f"C{i}", label=g)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(f"{model}: pretrained read embeddings", fontsize=10)
    ax.legend(fontsize=7, markerscale=2)
    fig.tight_layout()
    return fig
