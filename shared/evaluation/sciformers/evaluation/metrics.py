"""Metrics over a whole test set: torchmetrics where it has the metric, our own where it does not.

Each metric is a function ``(pred, target) -> float`` registered with its direction, so a
RunRecord can store ``higher_is_better`` beside every value. Keys a task computes by other
means (one per horizon, per flow bin, per label fraction) are declared as *families*: a pattern
such as ``rel_l2_h{h}`` with one direction for every key it matches (:func:`register_metric_family`). Classification metrics take
logits or probabilities ``(N, C)`` or labels ``(N,)``; regression metrics take equal shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

# torchmetrics is imported inside the functions that use it: importing it pulls in its text and
# audio metrics (transformers, scipy.signal), about 1.7 s that `sciformers predict` would pay at start.

MetricFn = Callable[[Tensor, Tensor], float]


@dataclass(frozen=True)
class Metric:
    """A named metric and its direction."""

    name: str
    fn: MetricFn
    higher_is_better: bool
    description: str = ""

    def __call__(self, pred: Tensor, target: Tensor) -> float:
        return float(self.fn(pred, target))


_METRICS: dict[str, Metric] = {}


def register_metric(name: str, higher_is_better: bool, description: str = "") -> Callable[[MetricFn], MetricFn]:
    """Decorator registering ``fn`` as metric ``name``."""

    def deco(fn: MetricFn) -> MetricFn:
        if name in _METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        _METRICS[name] = Metric(name, fn, higher_is_better, description)
        return fn

    return deco


def get_metric(name: str) -> Metric:
    """The metric registered under ``name``."""
    try:
        return _METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; registered: {', '.join(sorted(_METRICS))}") from None


def list_metrics() -> list[str]:
    """Sorted names of the registered metrics."""
    return sorted(_METRICS)


@dataclass(frozen=True)
class MetricFamily:
    """Metric keys that share a direction: ``pattern`` holds one ``{field}`` per varying part."""

    pattern: str
    higher_is_better: bool
    description: str = ""

    def matches(self, key: str) -> bool:
        parts = re.split(r"\{[a-z_]+\}", self.pattern)
        return re.fullmatch("(.+?)".join(map(re.escape, parts)), key) is not None


_FAMILIES: dict[str, MetricFamily] = {}


def register_metric_family(pattern: str, higher_is_better: bool, description: str = "") -> MetricFamily:
    """Declare the direction of every key matching ``pattern`` (``rel_l2_h{h}``, ``pod_{flow}``).

    Registering the same pattern again with the same direction is a no-op (modules may be
    re-imported); a conflicting direction is an error.
    """
    family = MetricFamily(pattern, higher_is_better, description)
    known = _FAMILIES.get(pattern)
    if known is not None and known.higher_is_better != higher_is_better:
        raise ValueError(f"metric family {pattern!r} is already registered with the other direction")
    _FAMILIES.setdefault(pattern, family)
    return _FAMILIES[pattern]


def metric_direction(key: str) -> bool | None:
    """``higher_is_better`` of a metric key: a registered metric first, then the first matching
    family; ``None`` when nothing declares the key."""
    if key in _METRICS:
        return _METRICS[key].higher_is_better
    for family in _FAMILIES.values():
        if family.matches(key):
            return family.higher_is_better
    return None


def list_metric_families() -> list[str]:
    """Sorted patterns of the registered families."""
    return sorted(_FAMILIES)


def _labels_and_classes(pred: Tensor, target: Tensor) -> tuple[Tensor, int]:
    target = target.long().reshape(-1)
    if pred.dim() == 2:
        return pred.argmax(-1), pred.shape[-1]
    labels = pred.long().reshape(-1)
    return labels, int(max(labels.max().item(), target.max().item())) + 1


def _check_same_length(pred: Tensor, target: Tensor, name: str) -> None:
    if pred.shape[0] != target.shape[0]:
        raise ValueError(f"{name}: {pred.shape[0]} predictions for {target.shape[0]} targets")


@register_metric("accuracy", higher_is_better=True, description="fraction of correct labels")
def accuracy(pred: Tensor, target: Tensor) -> float:
    """Top-1 accuracy (torchmetrics ``multiclass_accuracy``, micro-averaged)."""
    _check_same_length(pred, target, "accuracy")
    labels, n = _labels_and_classes(pred, target)
    from torchmetrics.functional.classification import multiclass_accuracy
    return multiclass_accuracy(labels, target.long().reshape(-1), num_classes=n, average="micro").item()


@register_metric("f1_macro", higher_is_better=True, description="macro-averaged F1")
def f1_macro(pred: Tensor, target: Tensor) -> float:
    """Macro F1 over classes (torchmetrics ``multiclass_f1_score``)."""
    _check_same_length(pred, target, "f1_macro")
    labels, n = _labels_and_classes(pred, target)
    from torchmetrics.functional.classification import multiclass_f1_score
    return multiclass_f1_score(labels, target.long().reshape(-1), num_classes=n, average="macro").item()


@register_metric("mcc", higher_is_better=True, description="Matthews correlation coefficient")
def mcc(pred: Tensor, target: Tensor) -> float:
    """Multiclass Matthews correlation (torchmetrics)."""
    _check_same_length(pred, target, "mcc")
    labels, n = _labels_and_classes(pred, target)
    from torchmetrics.functional.classification import multiclass_matthews_corrcoef
    return multiclass_matthews_corrcoef(labels, target.long().reshape(-1), num_classes=n).item()


@register_metric("auroc", higher_is_better=True, description="area under the ROC curve of a binary score")
def auroc(pred: Tensor, target: Tensor) -> float:
    """Binary AUROC as the Mann-Whitney statistic: the probability that a positive outscores a
    negative, ties counting one half, ``(R_+ - n_+(n_+ + 1)/2) / (n_+ n_-)`` with ``R_+`` the sum of
    the positives' average ranks. Exact for any real scores (no thresholds, no squashing).

    ``pred`` holds scores ``(N,)`` or two-class logits or probabilities ``(N, 2)`` (scored by
    column 1 minus column 0, monotone in either); ``target`` holds 0/1. NaN when ``target`` has one
    class only, where the ROC curve is undefined.
    """
    _check_same_length(pred, target, "auroc")
    if pred.dim() == 2 and pred.shape[1] != 2:
        raise ValueError(f"auroc: expected scores (N,) or two-class outputs (N, 2), got shape {tuple(pred.shape)}")
    scores = (pred[:, 1] - pred[:, 0] if pred.dim() == 2 else pred.reshape(-1)).double()
    positive = target.reshape(-1) != 0
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ordered, order = torch.sort(scores)
    _, group, counts = torch.unique_consecutive(ordered, return_inverse=True, return_counts=True)
    mean_rank = torch.cumsum(counts, 0).double() - (counts.double() - 1) / 2  # ranks 1..N, ties averaged
    ranks = torch.empty_like(scores)
    ranks[order] = mean_rank[group]
    return ((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).item()


@register_metric("mae", higher_is_better=False, description="mean absolute error")
def mae(pred: Tensor, target: Tensor) -> float:
    """Mean absolute error (torchmetrics)."""
    _check_same_length(pred, target, "mae")
    from torchmetrics.functional import mean_absolute_error
    return mean_absolute_error(pred.double(), target.double()).item()


@register_metric("rmse", higher_is_better=False, description="root mean squared error")
def rmse(pred: Tensor, target: Tensor) -> float:
    """Root mean squared error (torchmetrics)."""
    _check_same_length(pred, target, "rmse")
    from torchmetrics.functional import mean_squared_error
    return mean_squared_error(pred.double(), target.double(), squared=False).item()


@register_metric("rel_l2", higher_is_better=False, description="mean over samples of ||pred-target||/||target||")
def relative_l2(pred: Tensor, target: Tensor) -> float:
    """Relative L2 error, averaged over samples (dim 0); not in torchmetrics.

    ``mean_i ||pred_i - target_i||_2 / ||target_i||_2`` with each sample flattened, as in the
    neural-operator literature (FNO, FactFormer).
    """
    _check_same_length(pred, target, "rel_l2")
    p = pred.double().reshape(pred.shape[0], -1)
    t = target.double().reshape(target.shape[0], -1)
    if p.shape != t.shape:
        raise ValueError(f"rel_l2: prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    norms = torch.linalg.vector_norm(t, dim=1)
    if bool((norms == 0).any()):
        raise ValueError("rel_l2: a target sample has zero norm; relative error is undefined")
    return (torch.linalg.vector_norm(p - t, dim=1) / norms).mean().item()
