"""Learning-rate schedules against their closed forms."""

import math

import pytest
import torch

from sciformers.core.schedule import build_schedule, one_cycle, warmup_cosine


def _lrs(kind, total, warmup):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    sched = build_schedule(opt, kind, total, warmup)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_warmup_cosine_closed_form():
    lrs = _lrs("cosine", total=20, warmup=4)
    assert lrs[:4] == pytest.approx([2.0 * (s + 1) / 4 for s in range(4)])
    for s in range(4, 20):
        assert lrs[s] == pytest.approx(2.0 * 0.5 * (1 + math.cos(math.pi * (s - 4) / 16)))
    assert warmup_cosine(20, 20, 4) == pytest.approx(0.0)


def test_one_cycle_rises_then_falls():
    assert one_cycle(0, 100, 30) == pytest.approx(0.04)
    assert one_cycle(30, 100, 30) == pytest.approx(1.0)
    assert one_cycle(100, 100, 30) == pytest.approx(1e-4)
    lrs = _lrs("onecycle", 100, 30)
    assert max(range(100), key=lrs.__getitem__) == 30


def test_constant_and_unknown():
    assert _lrs("constant", 5, 0) == [2.0] * 5
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        _lrs("linear", 5, 0)
