"""Run under torchrun with 2 processes; writes this rank's results for test_ddp.py to compare."""

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
from models import TinyRegressor, regression_data  # noqa: E402

from sciformers.core import TrainConfig, Trainer, distributed, seed_everything  # noqa: E402
from sciformers.core.trainer import _Step  # noqa: E402

CFG = {"steps": 5, "batch_size": 16, "lr": 1e-2, "val_fraction": 0.0, "grad_clip": None, "schedule": "constant",
       "warmup": 0}


def main(out: Path) -> None:
    trainer = Trainer(TrainConfig.parse(CFG), device="cpu", seed=0, quiet=True)
    rank = distributed.rank()
    data = regression_data(101)
    x, y = data.tensors

    # (1) one DDP step at B/2 per rank: gradients after all-reduce
    seed_everything(0)
    model = TinyRegressor(dropout=0.0)
    step = distributed.wrap_ddp(_Step(model), torch.device("cpu"))
    idx = distributed.rank_slice(torch.arange(16))
    step([x[idx], y[idx]]).backward()
    grads = {f"grad.{k}": p.grad for k, p in model.named_parameters()}

    # (2) parameters after k Trainer steps
    seed_everything(0)
    model = TinyRegressor(dropout=0.0)
    trainer.fit(model, data)
    params = {f"param.{k}": v for k, v in model.state_dict().items()}

    # (3) prediction over an uneven dataset and metric sums
    pred = trainer.predict(model, data)
    shard = distributed.eval_shard(len(data))
    sums = distributed.all_reduce_sums({"sq_err": ((pred[shard] - y[shard]) ** 2).sum(), "count": torch.tensor(float(len(shard)))})
    save_file({**grads, **params, "pred": pred, "sq_err": sums["sq_err"].reshape(1), "count": sums["count"].reshape(1)},
              str(out / f"rank{rank}.safetensors"))
    distributed.cleanup()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
