"""Rollout metrics: relative L2 at each horizon and the valid time (correlation above 0.9).

Predictions and targets are rollouts ``(N, H, *grid)``. ``rel_l2_h{h}`` is the relative L2
error of frame ``h`` over the grid, averaged over samples (the FNO/FactFormer convention, at
a single horizon). ``valid_time`` is the time until the pattern correlation between the
predicted and true frame first drops below 0.9 (Kochkov et al. 2021), averaged over samples;
a rollout that never drops counts its full horizon. The task also records two timings,
``infer_ms_per_step`` and ``train_s_per_step`` (lower is better).
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciformers.evaluation.metrics import register_metric, register_metric_family

MAX_HORIZON = 16
CORRELATION_THRESHOLD = 0.9


def rel_l2_per_horizon(pred: Tensor, target: Tensor) -> Tensor:
    """``(H,)``: mean over samples of ``||pred[:, h] - target[:, h]|| / ||target[:, h]||``."""
    if pred.shape != target.shape or pred.dim() < 3:
        raise ValueError(f"rollout metrics need equal (N, H, *grid) shapes, got {tuple(pred.shape)} and {tuple(target.shape)}")
    p, t = pred.double().flatten(2), target.double().flatten(2)
    return (torch.linalg.vector_norm(p - t, dim=-1) / torch.linalg.vector_norm(t, dim=-1)).mean(0)


def correlation_per_frame(pred: Tensor, target: Tensor) -> Tensor:
    """``(N, H)``: Pearson correlation of each predicted frame with the true frame over the grid."""
    p, t = pred.double().flatten(2), target.double().flatten(2)
    p, t = p - p.mean(-1, keepdim=True), t - t.mean(-1, keepdim=True)
    return (p * t).sum(-1) / (torch.linalg.vector_norm(p, dim=-1) * torch.linalg.vector_norm(t, dim=-1)).clamp_min(1e-300)


def valid_time(pred: Tensor, target: Tensor, frame_dt: float = 1.0, threshold: float = CORRELATION_THRESHOLD) -> float:
    """Mean over samples of ``frame_dt ×`` (frames before the correlation first falls below ``threshold``).

    A non-finite prediction counts as uncorrelated from that frame on.
    """
    corr = correlation_per_frame(pred, target)
    ok = torch.nan_to_num(corr, nan=-1.0) >= threshold
    valid = torch.cumprod(ok.long(), dim=1).sum(dim=1)  # frames until the first failure
    return float(valid.double().mean() * frame_dt)


def _horizon_metric(h: int):  # noqa: ANN202
    def fn(pred: Tensor, target: Tensor) -> float:
        return float(rel_l2_per_horizon(pred[:, h - 1:h], target[:, h - 1:h])[0])

    fn.__name__ = f"rel_l2_h{h}"
    fn.__doc__ = f"Relative L2 error of rollout frame {h}, averaged over samples."
    return fn


for _h in range(1, MAX_HORIZON + 1):
    register_metric(f"rel_l2_h{_h}", higher_is_better=False,
                    description=f"relative L2 of rollout frame {_h}")(_horizon_metric(_h))

register_metric("valid_time", higher_is_better=True,
                description="frames (times frame_dt in the task) until correlation with the truth < 0.9")(valid_time)
register_metric_family("infer_ms_per_step", higher_is_better=False,
                       description="batched inference wall clock per test window and rollout frame (ms)")
register_metric_family("train_s_per_step", higher_is_better=False, description="training wall clock per optimizer step (s)")
