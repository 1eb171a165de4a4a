"""Two gloo processes through torchrun give single-process gradients, parameters and metrics."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
sys.path.insert(0, str(Path(__file__).parent))
from ddp_worker import CFG, GRAD_BATCHES  # noqa: E402
from models import TinyRegressor, regression_data  # noqa: E402

from sciformers.core import TrainConfig, Trainer, seed_everything  # noqa: E402

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(WORKER), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [(load_file(str(out / f"rank{r}.safetensors")), json.loads((out / f"rank{r}.json").read_text()))
            for r in range(2)]


@pytest.fixture(scope="module")
def single():
    """The same run in this (non-distributed) process."""
    seed_everything(0)
    model = TinyRegressor(dropout=0.0)
    trainer = Trainer(TrainConfig.parse(CFG), device="cpu", seed=0, quiet=True)
    fit = trainer.fit(model, regression_data(101))
    return model, fit, trainer


@pytest.mark.distributed
@pytest.mark.parametrize("size", GRAD_BATCHES)
def test_gradients_equal_single_process_at_full_batch(ranks, size):
    x, y = regression_data(101).tensors
    seed_everything(0)
    model = TinyRegressor(dropout=0.0)
    model.training_step([x[:size], y[:size]]).backward()
    for name, p in model.named_parameters():
        for tensors, meta in ranks:
            assert meta["world"] == 2
            torch.testing.assert_close(tensors[f"grad{size}.{name}"], p.grad, atol=1e-6, rtol=0)


@pytest.mark.distributed
def test_parameters_identical_across_ranks_and_equal_single_process(ranks, single):
    model, fit, _ = single
    (r0, meta0), (r1, meta1) = ranks
    for name, value in model.state_dict().items():
        assert torch.equal(r0[f"param.{name}"], r1[f"param.{name}"])
        torch.testing.assert_close(r0[f"param.{name}"], value, atol=1e-6, rtol=0)
    assert [h["step"] for h in meta0["history"]] == [4, 8, 9] == [h["step"] for h in fit.history]
    assert meta0["history"] == meta1["history"]
    for dist_h, single_h in zip(meta0["history"], fit.history):
        for key in ("train_loss", "val_loss"):  # global mean over ranks, not rank 0's share
            assert dist_h[key] == pytest.approx(single_h[key], rel=1e-6), key


@pytest.mark.distributed
def test_evaluation_over_an_uneven_dataset_equals_single_process(ranks, single):
    data = regression_data(101)
    x, y = data.tensors
    model = TinyRegressor(dropout=0.0)
    model.load_state_dict({k[len("param."):]: v for k, v in ranks[0][0].items() if k.startswith("param.")})
    pred = single[2].predict(model, data)
    for tensors, _ in ranks:
        # every sample exactly once, in dataset order, on every rank (one rank had nothing for "tiny")
        assert torch.equal(tensors["echo.x"], x) and torch.equal(tensors["echo.y"], y)
        assert torch.equal(tensors["tiny.x"], x[7:8])
        # the same numbers, up to float32 kernels that depend on how samples are batched
        torch.testing.assert_close(tensors["pred"], pred, atol=1e-6, rtol=0)
        # whole-set metric from per-rank sums and counts
        assert tensors["count"].item() == 101
        expected = ((tensors["pred"].double() - y.double()) ** 2).sum()
        torch.testing.assert_close(tensors["sq_err"][0], expected, atol=0, rtol=1e-12)


def test_training_order_in_one_process_is_a_seeded_permutation_per_epoch():
    from sciformers.core.distributed import train_batches

    epoch0 = train_batches(10, 4, seed=3, epoch=0)
    assert [len(b) for b, _ in epoch0] == [4, 4, 2] and all(w == 1.0 for _, w in epoch0)
    assert sorted(i for b, _ in epoch0 for i in b) == list(range(10))
    assert train_batches(10, 4, seed=3, epoch=0) == epoch0
    assert train_batches(10, 4, seed=3, epoch=1) != epoch0
    assert train_batches(10, 4, seed=4, epoch=0) != epoch0
