"""Figures of the planning benchmark: a maze with A*'s and a model's search, and %-optimal vs data size.

As in Searchformer's Fig. 1 and Fig. 5 (Lehnert et al. 2024): the cells each search closed are
shaded in order of expansion and the plan is drawn on top; the size curve plots the fraction of
optimal plans against the number of training sequences for each model (mean ± std over seeds).
"""

from __future__ import annotations

import re
from collections import defaultdict

import matplotlib.pyplot as plt
import numpy as np

from sciformers.evaluation.records import RunRecord
from sciformers.planning.maze import parse_maze
from sciformers.planning.tokenizer import ParsedResponse


def _draw_search(ax: plt.Axes, text: str, parsed: ParsedResponse, title: str) -> None:
    maze = parse_maze(text)
    h, w = maze.shape
    ax.imshow(np.where(maze.walls, 0.15, 1.0), cmap="gray", vmin=0, vmax=1)
    closed = [ev.state for ev in parsed.trace if ev.kind == "close"]
    created = {ev.state for ev in parsed.trace if ev.kind == "create"}
    for r, c in created:
        if 0 <= r < h and 0 <= c < w:
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, color="tab:blue", alpha=0.15))
    for i, (r, c) in enumerate(closed):
        if 0 <= r < h and 0 <= c < w:
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, color=plt.cm.viridis(i / max(len(closed), 1)), alpha=0.5))
    if parsed.plan:
        rows, cols = zip(*parsed.plan)
        ax.plot(cols, rows, "-", color="tab:red", lw=2.5)
    ax.plot(maze.start[1], maze.start[0], "o", color="tab:green", ms=10)
    ax.plot(maze.goal[1], maze.goal[0], "*", color="tab:orange", ms=14)
    ax.set_title(f"{title}\n{len(closed)} closed, plan {len(parsed.plan)} cells", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def maze_trace_figure(text: str, astar: ParsedResponse, model: ParsedResponse, name: str) -> plt.Figure:
    """Two panels: A*'s trace and plan, and the model's, on the same maze."""
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.4))
    _draw_search(axes[0], text, astar, "A* (deterministic)")
    _draw_search(axes[1], text, model, name + ("" if model.valid else " (invalid)"))
    fig.tight_layout()
    return fig


def size_curve_figure(records: list[RunRecord]) -> plt.Figure:
    """%-optimal against training-set size (``pct_optimal_n<size>`` metrics), one line per model."""
    curves: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        for key, value in r.metrics.items():
            m = re.fullmatch(r"pct_optimal_n(\d+)", key)
            if m:
                curves[r.model][int(m.group(1))].append(value)
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    for name, points in sorted(curves.items()):
        sizes = sorted(points)
        means = [np.mean(points[s]) for s in sizes]
        stds = [np.std(points[s], ddof=1) if len(points[s]) > 1 else 0.0 for s in sizes]
        ax.errorbar(sizes, means, yerr=stds, marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("training sequences")
    ax.set_ylabel("fraction of optimal plans")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title(f"{records[0].task}: % optimal vs data size", fontsize=9)
    fig.tight_layout()
    return fig

