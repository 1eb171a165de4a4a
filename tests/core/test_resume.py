"""A run killed mid-epoch resumes and ends with exactly the weights of an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from models import TinyRegressor, regression_data
from sciformers.core import TrainConfig, Trainer, seed_everything

# 97 samples / batch 16 = 7 batches per epoch; checkpoints every 5 steps land mid-epoch.
CFG = {"steps": 30, "batch_size": 16, "lr": 5e-3, "eval_every": 7, "checkpoint_every": 5, "val_fraction": 0.1}


class Killed(Exception):
    pass


def _train(run_dir: Path | None, stop_at: int | None = None) -> TinyRegressor:
    seed_everything(0)
    model = TinyRegressor()

    def hook(step: int) -> None:
        if stop_at is not None and step == stop_at:
            raise Killed

    Trainer(TrainConfig.parse(CFG), run_dir=run_dir, seed=1, quiet=True, on_step_end=hook).fit(model, regression_data())
    return model


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb), ka


def test_interrupted_run_resumes_to_identical_weights(tmp_path):
    reference = _train(None)
    with pytest.raises(Killed):
        _train(tmp_path, stop_at=12)  # after the step-10 checkpoint, mid-epoch (epoch 1, batch 5 of 7)
    _assert_same_weights(_train(tmp_path), reference)


def test_finished_run_is_not_trained_again(tmp_path):
    first = _train(tmp_path)
    calls = []
    seed_everything(0)
    model = TinyRegressor()
    Trainer(TrainConfig.parse(CFG), run_dir=tmp_path, seed=1, quiet=True, on_step_end=calls.append).fit(model, regression_data())
    assert calls == []
    _assert_same_weights(model, first)


def test_resume_with_another_config_is_refused(tmp_path):
    with pytest.raises(Killed):
        _train(tmp_path, stop_at=6)
    model = TinyRegressor()
    with pytest.raises(ValueError, match=r"another run \(train\.lr: checkpoint 0\.005, now 0\.01\)"):
        Trainer(TrainConfig.parse({**CFG, "lr": 1e-2}), run_dir=tmp_path, seed=1, quiet=True).fit(model, regression_data())
    with pytest.raises(ValueError, match=r"seed: checkpoint 1, now 2"):
        Trainer(TrainConfig.parse(CFG), run_dir=tmp_path, seed=2, quiet=True).fit(model, regression_data())


def test_settings_that_do_not_change_the_weights_may_differ_on_resume(tmp_path):
    reference = _train(None)
    with pytest.raises(Killed):
        _train(tmp_path, stop_at=12)
    seed_everything(0)
    model = TinyRegressor()
    cfg = TrainConfig.parse({**CFG, "log_every": 3, "seeds": [1, 2, 3]})
    Trainer(cfg, run_dir=tmp_path, seed=1, quiet=True).fit(model, regression_data())
    _assert_same_weights(model, reference)


WORKER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {tests!r})
    from models import TinyRegressor, regression_data
    from sciformers.core import TrainConfig, Trainer, seed_everything
    seed_everything(0)
    def hook(step):
        if step == 11:
            print("checkpointed", flush=True)
            os.kill(os.getpid(), 9)
    Trainer(TrainConfig.parse({cfg!r}), run_dir={run_dir!r}, seed=1, quiet=True, on_step_end=hook).fit(
        TinyRegressor(), regression_data())
    """
)


def test_sigkilled_process_resumes_to_identical_weights(tmp_path):
    script = WORKER.format(tests=str(Path(__file__).parent), cfg=CFG, run_dir=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    state = json.loads((tmp_path / "checkpoints" / "last" / "state.json").read_text())
    assert state["step"] == 10 and not state["done"]
    _assert_same_weights(_train(tmp_path), _train(None))
    assert not any(p.name.endswith((".tmp", ".old")) for p in (tmp_path / "checkpoints").iterdir())
    assert os.listdir(tmp_path / "checkpoints") == ["last"]
