"""Learning-rate schedules as multipliers of the base rate: warm-up + cosine, one-cycle, constant."""

from __future__ import annotations

import math
from typing import Callable

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then cosine decay to 0 at ``total``.

    ``(s + 1) / warmup`` for ``s < warmup`` (the first step already trains), then
    ``(1 + cos(pi * (s - warmup) / (total - warmup))) / 2``.

    Args:
        step: optimizer steps taken so far.
        total: the run's optimizer steps.
        warmup: warm-up steps (0: none).
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def one_cycle(step: int, total: int, warmup: int, start: float = 0.04, end: float = 1e-4) -> float:
    """Smith's one-cycle (arXiv:1708.07120), cosine-annealed as in fastai and torch's ``OneCycleLR``.

    Rises from ``start`` to 1 over ``warmup`` steps along half a cosine, then falls to ``end``
    at ``total`` along another.

    Args:
        step: optimizer steps taken so far.
        total: the run's optimizer steps.
        warmup: steps of the rising phase (at least 1).
        start: initial multiplier (torch's ``1 / div_factor``).
        end: final multiplier.
    """
    if step < warmup:
        p = step / max(warmup, 1)
        return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * p))
    p = min((step - warmup) / max(total - warmup, 1), 1.0)
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * p))


def build_schedule(optimizer: Optimizer, kind: str, total: int, warmup: int) -> LambdaLR:
    """A ``LambdaLR`` multiplying the optimizer's base rate; stepped once per optimizer step.

    Args:
        optimizer: its ``lr`` is the peak rate.
        kind: ``cosine`` (:func:`warmup_cosine`), ``onecycle`` (:func:`one_cycle`) or ``constant``
            (linear warm-up, then 1).
        total: the run's optimizer steps.
        warmup: warm-up steps.

    Raises:
        ValueError: for an unknown ``kind``, naming ``train.schedule``.
    """
    fns: dict[str, Callable[[int], float]] = {
        "cosine": lambda s: warmup_cosine(s, total, warmup),
        "onecycle": lambda s: one_cycle(s, total, max(warmup, 1)),
        "constant": lambda s: 1.0 if s >= warmup else (s + 1) / warmup,
    }
    if kind not in fns:
        raise ValueError(f"train.schedule: unknown schedule {kind!r}; expected one of {sorted(fns)}")
    return LambdaLR(optimizer, fns[kind])
