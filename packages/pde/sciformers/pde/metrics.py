"""Rollout metrics: relative L2 at each horizon and the valid time (correlation above 0.9).

Predictions and targets are rollouts ``(N, H, *grid)``. ``rel_l2_h{h}`` is the relative L2
error of frame ``h`` over the grid, averaged over samples (the FNO/FactFormer convention, at
a single horizon). ``valid_time`` is the time until the pattern correlation between the
predicted and true frame first drops below 0.9 (Kochkov et al. 2021), averaged over samples;
a rollout that never drops counts its full horizon. The task also records two timings,
``infer_ms_per_step`` and ``train_s_per_step`` (lower is better).

With ``per_channel=True`` the rollouts are ``(N, H, C, *grid)`` (3-D smoke: density and three
velocity components) and each channel is scored on its own, then averaged over channels, so a
field of small magnitude counts as much as a large one (FactFormer's smoke loss likewise takes
the relative L2 of each field separately). ``rel_l2_density_h{h}`` and ``rel_l2_velocity_h{h}``
are the smoke task's per-field errors (the velocity's three components together).
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciformers.evaluation.metrics import register_metric, register_metric_family

MAX_HORIZON = 16
CORRELATION_THRESHOLD = 0.9


def _flat(pred: Tensor, target: Tensor, per_channel: bool) -> tuple[Tensor, Tensor]:
    """``(N, H, [C,] P)`` views in float64: the grid flattened, channels kept apart if ``per_channel``."""
    if pred.shape != target.shape or pred.dim() < 3 + per_channel:
        layout = "(N, H, C, *grid)" if per_channel else "(N, H, *grid)"
        raise ValueError(f"rollout metrics need equal {layout} shapes, got {tuple(pred.shape)} and {tuple(target.shape)}")
    start = 3 if per_channel else 2
    return pred.double().flatten(start), target.double().flatten(start)


def rel_l2_per_horizon(pred: Tensor, target: Tensor, per_channel: bool = False) -> Tensor:
    """``(H,)``: mean over samples (and channels) of ``||pred[:, h] - target[:, h]|| / ||target[:, h]||``."""
    p, t = _flat(pred, target, per_channel)
    err = torch.linalg.vector_norm(p - t, dim=-1) / torch.linalg.vector_norm(t, dim=-1)
    return err.mean(-1).mean(0) if per_channel else err.mean(0)


def correlation_per_frame(pred: Tensor, target: Tensor, per_channel: bool = False) -> Tensor:
    """``(N, H)``: Pearson correlation of each predicted frame with the true frame over the grid
    (the mean over channels of each channel's correlation if ``per_channel``)."""
    p, t = _flat(pred, target, per_channel)
    p, t = p - p.mean(-1, keepdim=True), t - t.mean(-1, keepdim=True)
    corr = (p * t).sum(-1) / (torch.linalg.vector_norm(p, dim=-1) * torch.linalg.vector_norm(t, dim=-1)).clamp_min(1e-300)
    return corr.mean(-1) if per_channel else corr


def valid_time(pred: Tensor, target: Tensor, frame_dt: float = 1.0, threshold: float = CORRELATION_THRESHOLD,
               per_channel: bool = False) -> float:
    """Mean over samples of ``frame_dt ×`` (frames before the correlation first falls below ``threshold``).

    A non-finite prediction counts as uncorrelated from that frame on.
    """
    corr = correlation_per_frame(pred, target, per_channel)
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
register_metric_family("rel_l2_density_h{h}", higher_is_better=False,
                       description="relative L2 of the smoke density at rollout frame h")
register_metric_family("rel_l2_velocity_h{h}", higher_is_better=False,
                       description="relative L2 of the velocity (3 components) at rollout frame h")
register_metric_family("train_s_per_step", higher_is_better=False, description="training wall clock per optimizer step (s)")
