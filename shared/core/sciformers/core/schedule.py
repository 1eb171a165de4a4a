"""Learning-rate schedules as multipliers of the base rate: warm-up + cosine, one-cycle, constant."""

from __future__ import annotations

import math
from typing import Callable

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """Linear warm-up from 0 to 1 over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def one_cycle(step: int, total: int, warmup: int, start: float = 0.04, end: float = 1e-4) -> float:
    """Smith's one-cycle: cosine from ``start`` up to 1 over ``warmup`` steps, cosine down to ``end``."""
    if step < warmup:
        p = step / max(warmup, 1)
        return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * p))
    p = min((step - warmup) / max(total - warmup, 1), 1.0)
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * p))


def build_schedule(optimizer: Optimizer, kind: str, total: int, warmup: int) -> LambdaLR:
    """A ``LambdaLR`` for ``kind`` in ``cosine``, ``onecycle`` or ``constant``."""
    fns: dict[str, Callable[[int], float]] = {
        "cosine": lambda s: warmup_cosine(s, total, warmup),
        "onecycle": lambda s: one_cycle(s, total, max(warmup, 1)),
        "constant": lambda s: 1.0 if s >= warmup else (s + 1) / warmup,
    }
    if kind not in fns:
        raise ValueError(f"train.schedule: unknown schedule {kind!r}; expected one of {sorted(fns)}")
    return LambdaLR(optimizer, fns[kind])
