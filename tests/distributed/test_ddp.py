"""Two gloo processes through torchrun give single-process gradients, parameters and metrics."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
from models import TinyRegressor, regression_data  # noqa: E402

from sciformers.core import TrainConfig, Trainer, seed_everything  # noqa: E402

WORKER = Path(__file__).with_name("ddp_worker.py")
CFG = {"steps": 5, "batch_size": 16, "lr": 1e-2, "val_fraction": 0.0, "grad_clip": None, "schedule": "constant",
       "warmup": 0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc-per-node=2",
           "--master-addr=127.0.0.1", f"--master-port={_free_port()}", str(WORKER), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [load_file(str(out / f"rank{r}.safetensors")) for r in range(2)]


@pytest.mark.distributed
def test_gradients_equal_single_process_at_full_batch(ranks):
    x, y = regression_data(101).tensors
    seed_everything(0)
    model = TinyRegressor(dropout=0.0)
    model.training_step([x[:16], y[:16]]).backward()
    for name, p in model.named_parameters():
        for r in ranks:
            torch.testing.assert_close(r[f"grad.{name}"], p.grad, atol=1e-6, rtol=0)


@pytest.mark.distributed
def test_parameters_identical_across_ranks_and_equal_single_process(ranks):
    seed_everything(0)
    model = TinyRegressor(dropout=0.0)
    Trainer(TrainConfig.parse(CFG), device="cpu", seed=0, quiet=True).fit(model, regression_data(101))
    for name, value in model.state_dict().items():
        assert torch.equal(ranks[0][f"param.{name}"], ranks[1][f"param.{name}"])
        torch.testing.assert_close(ranks[0][f"param.{name}"], value, atol=1e-6, rtol=0)


@pytest.mark.distributed
def test_evaluation_over_an_uneven_dataset_equals_single_process(ranks):
    data = regression_data(101)
    model = TinyRegressor(dropout=0.0)
    model.load_state_dict({k[len("param."):]: v for k, v in ranks[0].items() if k.startswith("param.")})
    pred = Trainer(TrainConfig.parse(CFG), device="cpu", quiet=True).predict(model, data)
    for r in ranks:
        assert torch.equal(r["pred"], pred)  # every sample exactly once, in order
        assert r["count"].item() == 101
        torch.testing.assert_close(r["sq_err"][0], ((pred - data.tensors[1]) ** 2).sum(), atol=1e-5, rtol=1e-6)
