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


def test_one_cycle_closed_form():
    lrs = _lrs("onecycle", 100, 30)
    for s in range(30):
        assert lrs[s] == pytest.approx(2.0 * (0.04 + 0.96 * (1 - math.cos(math.pi * s / 30)) / 2))
    for s in range(30, 100):
        assert lrs[s] == pytest.approx(2.0 * (1e-4 + (1 - 1e-4) * (1 + math.cos(math.pi * (s - 30) / 70)) / 2))
    assert max(range(100), key=lrs.__getitem__) == 30
    assert one_cycle(100, 100, 30) == pytest.approx(1e-4)


@pytest.mark.parametrize("warmup, warmup_steps", [(0.25, 5), (3, 3)])
def test_trainer_reads_warmup_as_a_fraction_below_one_else_as_steps(warmup, warmup_steps):
    from models import TinyRegressor, regression_data
    from sciformers.core import TrainConfig, Trainer

    cfg = TrainConfig.parse({"steps": 20, "batch_size": 8, "lr": 0.1, "warmup": warmup, "val_fraction": 0.2,
                             "eval_every": 1, "schedule": "constant"})
    history = Trainer(cfg, quiet=True).fit(TinyRegressor(), regression_data(40)).history
    # history[i]["lr"] is the rate the next step (index i + 1) will use
    assert [h["lr"] for h in history] == pytest.approx([0.1 * min((i + 2) / warmup_steps, 1.0) for i in range(20)])


def test_constant_and_unknown():
    assert _lrs("constant", 5, 0) == [2.0] * 5
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        _lrs("linear", 5, 0)
