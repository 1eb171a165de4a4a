"""Plume segmentation and detection metrics, over a whole test set.

- ``plume_iou`` / ``plume_f1``: intersection over union and F1 of the plume pixels (every class
  but background), accumulated over all test pixels as mmsegmentation does. The honest metrics:
  background is ~99% of pixels.
- ``miou``: mean IoU over classes (background included), only to compare with the paper.
- ``detection_rate``: frame-level detection at a fixed false-alarm rate. A frame's score is its
  predicted plume area; the threshold is the ``1 - fpr`` quantile of the scores of gas-free
  frames, and the rate is the fraction of frames with visible gas (true area >= ``min_area``)
  scoring above it. A metric definition, not model selection: nothing is tuned.
- ``pod_by_flow`` and ``dl90``: probability of detection per flow-rate bin over every frame with
  a release, and the lowest flow at which it reaches 90% (linear interpolation between bins;
  NaN when it never does), as OGI detection-limit studies report (Zimmerle et al., ES&T 2020,
  doi:10.1021/acs.est.0c01285).

Pixels marked 255 in the target are ignored.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from sciformers.evaluation.metrics import register_metric, register_metric_family

IGNORE = 255

# Keys computed from more than (pred, target) (flows, timings): declared with their direction only.
register_metric_family("detection_rate", higher_is_better=True,
                       description="frames with visible gas detected at false-alarm rate eval.fpr")
register_metric_family("pod_{flow}", higher_is_better=True, description="probability of detection in a flow bin (SCCM)")
register_metric_family("dl90", higher_is_better=False, description="lowest flow (SCCM) detected with probability 0.9")
register_metric_family("latency_ms", higher_is_better=False, description="forward time of one frame (batch 1), ms")


def _valid(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    if pred.shape != target.shape:
        raise ValueError(f"segmentation metrics: prediction {tuple(pred.shape)} != target {tuple(target.shape)}")
    keep = target != IGNORE
    return pred[keep].long(), target[keep].long()


@register_metric("plume_iou", higher_is_better=True, description="IoU of plume pixels over the test set")
def plume_iou(pred: Tensor, target: Tensor) -> float:
    """``|P ∩ T| / |P ∪ T|`` for plume pixels (label > 0); 1 when both are empty."""
    p, t = _valid(pred, target)
    p, t = p > 0, t > 0
    union = (p | t).sum().item()
    return 1.0 if union == 0 else (p & t).sum().item() / union


@register_metric("plume_f1", higher_is_better=True, description="F1 (Dice) of plume pixels over the test set")
def plume_f1(pred: Tensor, target: Tensor) -> float:
    """``2 |P ∩ T| / (|P| + |T|)`` for plume pixels; 1 when both are empty."""
    p, t = _valid(pred, target)
    p, t = p > 0, t > 0
    total = p.sum().item() + t.sum().item()
    return 1.0 if total == 0 else 2 * (p & t).sum().item() / total


@register_metric("miou", higher_is_better=True, description="mean IoU over classes present (mmseg style)")
def miou(pred: Tensor, target: Tensor) -> float:
    """Mean over classes of the per-class IoU, over classes present in target or prediction."""
    p, t = _valid(pred, target)
    if t.numel() == 0:
        raise ValueError("miou: every target pixel is ignored")
    n = int(max(p.max(), t.max())) + 1
    conf = torch.bincount(t * n + p, minlength=n * n).reshape(n, n).double()
    inter = conf.diag()
    union = conf.sum(0) + conf.sum(1) - inter
    present = union > 0
    return (inter[present] / union[present]).mean().item()


def frame_scores(pred: Tensor) -> np.ndarray:
    """Predicted plume area (pixels) per frame of ``pred (N, H, W)``."""
    return (pred > 0).flatten(1).sum(1).numpy().astype(float)


def detection_threshold(scores: np.ndarray, negatives: np.ndarray, fpr: float) -> float:
    """Area threshold with at most ``fpr`` of gas-free frames above it."""
    if not negatives.any():
        return 0.0
    return float(np.quantile(scores[negatives], 1.0 - fpr, method="higher"))


def detection_rate(pred: Tensor, target: Tensor, flows: np.ndarray, fpr: float = 0.05, min_area: int = 10) -> float:
    """Fraction of frames with >= ``min_area`` true plume pixels detected at false-alarm rate ``fpr``."""
    scores = frame_scores(pred)
    threshold = detection_threshold(scores, flows == 0, fpr)
    positives = frame_scores(target.masked_fill(target == IGNORE, 0)) >= min_area
    return float((scores[positives] > threshold).mean()) if positives.any() else math.nan


def pod_by_flow(pred: Tensor, flows: np.ndarray, edges: np.ndarray, fpr: float = 0.05) -> np.ndarray:
    """Probability of detection in each flow bin ``[edges[i], edges[i+1])`` (NaN for an empty bin)."""
    scores = frame_scores(pred)
    detected = scores > detection_threshold(scores, flows == 0, fpr)
    pod = np.full(len(edges) - 1, math.nan)
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        inside = (flows > 0) & (flows >= lo) & ((flows < hi) if i < len(edges) - 2 else (flows <= hi))
        if inside.any():
            pod[i] = detected[inside].mean()
    return pod


def dl90(pod: np.ndarray, centers: np.ndarray, level: float = 0.9) -> float:
    """Lowest flow where ``pod`` (per bin at ``centers``) first reaches ``level``; NaN if never."""
    keep = ~np.isnan(pod)
    pod, centers = pod[keep], centers[keep]
    for i, value in enumerate(pod):
        if value >= level:
            if i == 0:
                return float(centers[0])
            lo, hi = pod[i - 1], value
            return float(centers[i - 1] + (level - lo) / (hi - lo) * (centers[i] - centers[i - 1]))
    return math.nan
