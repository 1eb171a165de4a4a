"""Run under torchrun with 2 processes; writes this rank's results for test_ddp.py to compare."""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
from models import TinyRegressor, regression_data  # noqa: E402

from sciformers.core import TrainConfig, Trainer, TrainModule, distributed, seed_everything  # noqa: E402
from sciformers.core.trainer import _Step  # noqa: E402

# 91 training samples at batch 15: 6 batches split 8 + 7 over the ranks, then 1 sample that
# rank 1 cannot share (weight 0). 9 steps cross that batch and the epoch boundary.
CFG = {"steps": 9, "batch_size": 15, "lr": 1e-2, "val_fraction": 0.1, "eval_every": 4, "schedule": "constant",
       "warmup": 0}
GRAD_BATCHES = (16, 15)  # global batch sizes for the one-step gradient check (even and uneven split)


class Echo(TrainModule):
    """Predicts its inputs, so gathered predictions must equal the dataset bit for bit."""

    def predict(self, batch):
        return {"x": batch[0], "y": batch[1]}


def main(out: Path) -> None:
    trainer = Trainer(TrainConfig.parse(CFG), device="cpu", seed=0, quiet=True)
    rank = distributed.rank()
    data = regression_data(101)
    x, y = data.tensors
    results = {}

    # (1) one DDP step with this rank's weighted part of a global batch of B
    for size in GRAD_BATCHES:
        seed_everything(0)
        model = TinyRegressor(dropout=0.0)
        step = distributed.wrap_ddp(_Step(model))
        [(idx, weight)] = distributed.train_batches(size, size, seed=0, epoch=0)
        (step([x[idx], y[idx]]) * weight).backward()
        results |= {f"grad{size}.{k}": p.grad for k, p in model.named_parameters()}

    # (2) parameters and validation losses after k Trainer steps
    seed_everything(0)
    model = TinyRegressor(dropout=0.0)
    fit = trainer.fit(model, data)
    results |= {f"param.{k}": v for k, v in model.state_dict().items()}

    # (3) prediction over an uneven dataset, metric sums, and a dataset smaller than the world
    pred = trainer.predict(model, data)
    shard = distributed.eval_shard(len(data))
    sums = distributed.all_reduce_sums({"sq_err": ((pred[shard].double() - y[shard].double()) ** 2).sum(),
                                        "count": torch.tensor(float(len(shard)))})
    echo = trainer.predict(Echo(), data)
    tiny = trainer.predict(Echo(), torch.utils.data.Subset(data, [7]))
    save_file({**results, "pred": pred, "echo.x": echo["x"], "echo.y": echo["y"], "tiny.x": tiny["x"],
               "sq_err": sums["sq_err"].reshape(1), "count": sums["count"].reshape(1)},
              str(out / f"rank{rank}.safetensors"))
    (out / f"rank{rank}.json").write_text(json.dumps({"history": fit.history, "world": distributed.world_size()}))
    distributed.cleanup()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
