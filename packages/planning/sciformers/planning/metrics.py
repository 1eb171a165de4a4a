"""Directions of the planning metrics, registered with the harness (imported with the tasks).

The values are computed from the per-task outcomes of a planner
(:func:`~sciformers.planning.scoring.planning_metrics`, Searchformer sec. 4.1), not from a
``(pred, target)`` tensor pair, so each key is declared by its direction only.
"""

from __future__ import annotations

from sciformers.evaluation.metrics import register_metric_family

register_metric_family("pct_valid", higher_is_better=True, description="fraction of syntactically valid responses")
register_metric_family("pct_correct", higher_is_better=True, description="fraction of plans that reach the goal")
register_metric_family("pct_optimal", higher_is_better=True, description="fraction of correct plans as short as A*'s")
register_metric_family("swc", higher_is_better=True, description="success weighted by cost")
register_metric_family("ilr", higher_is_better=True, description="improved length ratio of the search trace")
register_metric_family("trace_len_ratio", higher_is_better=False, description="mean trace length over A*'s")
register_metric_family("tokens_generated", higher_is_better=False, description="mean response tokens per task")
register_metric_family("pct_optimal_n{size}", higher_is_better=True,
                       description="fraction of optimal plans of the model trained on <size> sequences")
register_metric_family("pct_valid_n{size}", higher_is_better=True,
                       description="fraction of valid responses of the model trained on <size> sequences")
register_metric_family("ei_train_len_ratio", higher_is_better=False,
                       description="expert-iteration training responses over A*'s, in tokens")
