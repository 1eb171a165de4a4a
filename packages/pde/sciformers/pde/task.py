"""The ``pde.kolmogorov2d`` task: autoregressive surrogates of 2-D Kolmogorov flow side by side.

Every model maps a window of ``in_steps`` vorticity frames to the next frames and is trained by
the shared Trainer with FactFormer's recipe (:mod:`sciformers.pde.surrogate`). Test samples are
windows of the test trajectories; each is rolled out ``eval_horizon`` frames and scored against
the solver at every horizon (whole test set). Persistence is the trivial baseline. An FNO entry
may set ``match_params: <model>`` to pick the width whose parameter count is closest to that
model's (within ±15%).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.core import Config, create_model
from sciformers.evaluation.datasets import DatasetEntry, register_dataset
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import Table, fmt, fmt_mean_std, horizon_plot
from sciformers.evaluation.runner import Entry, Job, Result
from sciformers.evaluation.tasks import Splits, SupervisedTask, register_task
from sciformers.pde import metrics as pm
from sciformers.pde.kolmogorov_data import KolmogorovData, kolmogorov_cache_file, load_kolmogorov
from sciformers.pde.peers import fno_width_for
from sciformers.pde.plots import field_figure
from sciformers.pde.surrogate import Surrogate

TABLE_HORIZONS = (1, 4, 8, 16)


class WindowDataset(Dataset):
    """Windows ``{"inputs": (in_steps, X, Y), "target": (target_steps, X, Y)}`` of trajectories.

    Args:
        frames: ``(S, T, X, Y)`` trajectories.
        in_steps: input frames; target_steps: frames after them.
        stride: frames between the starts of consecutive windows.
    """

    def __init__(self, frames: Tensor, in_steps: int, target_steps: int, stride: int = 1) -> None:
        span = in_steps + target_steps
        if frames.shape[1] < span:
            raise ValueError(f"trajectories have {frames.shape[1]} frames (shape {tuple(frames.shape)}); "
                             f"a window of {in_steps} inputs + {target_steps} targets needs {span}")
        self.frames, self.in_steps, self.target_steps, self.stride = frames, in_steps, target_steps, stride
        self.index = [(s, t) for s in range(frames.shape[0]) for t in range(0, frames.shape[1] - span + 1, stride)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        s, t = self.index[i]
        w = self.frames[s, t:t + self.in_steps + self.target_steps]
        return {"inputs": w[: self.in_steps], "target": w[self.in_steps:]}


class KolmogorovTask(SupervisedTask):
    """Kolmogorov flow at one Reynolds number: FactFormer beside FNO and persistence."""

    name = "pde.kolmogorov2d"
    version = "1"
    domain = "pde"
    description = ("2-D Kolmogorov flow (vorticity, periodic [0,2π)², forcing −n cos(ny), drag) from a seeded "
                   "pseudo-spectral solver; window of frames -> autoregressive rollout, relative L2 per horizon "
                   "on the whole test set.")
    metrics = tuple(f"rel_l2_h{h}" for h in range(1, pm.MAX_HORIZON + 1)) + ("valid_time",)
    baseline = "persistence"
    data_card = "kolmogorov2d.md"
    data_schema = KolmogorovData

    # -- data -------------------------------------------------------------------------------

    def load(self, data: Config) -> Splits:
        assert isinstance(data, KolmogorovData)
        ds = load_kolmogorov(data)
        frames = torch.from_numpy(ds["vorticity"].values.astype(np.float32))
        if "split" in ds.coords:
            split = np.asarray(ds["split"].values).astype(str)
        else:  # a user's file without splits: the last trajectories are test, the ones before val
            n = frames.shape[0]
            split = np.array(["train"] * (n - data.n_val - data.n_test) + ["val"] * data.n_val + ["test"] * data.n_test)
        parts = {k: frames[torch.from_numpy(split == k)] for k in ("train", "val", "test")}
        for k, v in parts.items():
            if len(v) == 0:
                raise ValueError(f"data: no {k} trajectories (split counts {dict(zip(*np.unique(split, return_counts=True)))})")
        times = ds["time"].values
        frame_dt = float(times[1] - times[0]) if len(times) > 1 else 1.0
        stride = data.window_stride
        return Splits(
            train=WindowDataset(parts["train"], data.in_steps, 1),  # re-windowed per model in train_sets
            val=WindowDataset(parts["val"], data.in_steps, 1, stride),  # re-windowed per model in train_sets
            test=WindowDataset(parts["test"], data.in_steps, data.eval_horizon, stride),
            info={"frame_dt": frame_dt, "mean": float(parts["train"].double().mean()),
                  "std": float(parts["train"].double().std())},
        )

    def targets(self, dataset: Dataset) -> Tensor:
        assert isinstance(dataset, WindowDataset)
        return torch.stack([dataset[i]["target"] for i in range(len(dataset))])

    # -- the runner's steps -----------------------------------------------------------------

    def model_inputs(self, splits: Splits) -> dict[str, Any]:
        assert isinstance(splits.test, WindowDataset)
        return {"in_steps": splits.test.in_steps}

    def resolve_entries(self, prepared: Splits, entries: list[Entry]) -> list[Entry]:
        """``in_steps`` for every model; ``match_params: <model>`` becomes the FNO width whose parameter
        count is closest to that model's, which must be listed before it."""
        resolved: dict[str, Entry] = {}
        for entry in super().resolve_entries(prepared, entries):
            kwargs = dict(entry.kwargs)
            ref = kwargs.pop("match_params", None)
            if ref is not None:
                if ref not in resolved:
                    raise ValueError(f"models.{entry.name}.kwargs.match_params: {ref!r} is not a model listed before it")
                target = self.count_params(create_model(resolved[ref].model, **resolved[ref].kwargs))
                kwargs["hidden_channels"] = fno_width_for(target, kwargs["in_steps"], kwargs.get("out_steps", 1),
                                                          kwargs.get("n_modes", (12, 12)), kwargs.get("n_layers", 4))
            resolved[entry.name] = replace(entry, kwargs=kwargs)
        return list(resolved.values())

    def build(self, job: Job, prepared: Splits) -> Surrogate:
        """The seeded model, normalized by the training frames' mean and standard deviation."""
        module: Surrogate = job.build()
        info = prepared.info or {}
        module.set_normalization(info["mean"], info["std"])
        return module

    def fit_inputs(self, prepared: Splits) -> tuple[Any, ...]:
        return ()  # persistence fits nothing

    def train_sets(self, prepared: Splits, model: Surrogate) -> tuple[Dataset, Dataset | None]:
        """The training and validation trajectories re-windowed for ``model`` (pushforward needs more targets)."""
        train, val = prepared.train, prepared.val
        assert isinstance(train, WindowDataset) and isinstance(val, WindowDataset)
        return (WindowDataset(train.frames, train.in_steps, model.train_frames),
                WindowDataset(val.frames, val.in_steps, model.out_steps, val.stride))

    def predict(self, job: Job, model: Surrogate, prepared: Splits) -> Tensor:
        """Every test window rolled out ``eval_horizon`` frames."""
        return job.predict(model, self.test_set(prepared)).float().cpu()

    def score(self, job: Job, prepared: Splits, predictions: Tensor) -> Result:
        """``rel_l2_h{h}`` per horizon, ``valid_time`` and the time per rollout step and per optimizer step."""
        target, pred = self.targets(prepared.test), predictions
        per_h = pm.rel_l2_per_horizon(pred, target)
        metrics = {f"rel_l2_h{h}": float(per_h[h - 1]) for h in range(1, min(len(per_h), pm.MAX_HORIZON) + 1)}
        metrics["valid_time"] = pm.valid_time(pred, target, (prepared.info or {})["frame_dt"])
        metrics["infer_ms_per_step"] = 1000.0 * job.eval_s / (len(target) * target.shape[1])
        fit = job.fits.get("")
        if fit is not None and fit.steps:
            metrics["train_s_per_step"] = fit.fit_s / fit.steps
        return Result(metrics, n_test=len(target))

    def artifacts(self, job: Job, prepared: Splits, predictions: Tensor) -> dict[str, dict[str, Any]]:
        """``<model>.npz``: the first two test rollouts and their truth, first seed only (the field figure)."""
        if not job.is_first_seed:
            return {}
        n = min(2, len(prepared.test))  # type: ignore[arg-type]
        target = torch.stack([prepared.test[i]["target"] for i in range(n)])
        return {f"{job.name}.npz": {"pred": predictions[:n].numpy(), "target": target.numpy()}}

    # -- report -----------------------------------------------------------------------------

    def tables(self, records: list[RunRecord]) -> list[Table]:
        by_model: dict[str, list[RunRecord]] = defaultdict(list)
        for r in records:
            by_model[r.model].append(r)
        base = by_model.get(self.baseline, [])
        keys = [f"rel_l2_h{h}" for h in TABLE_HORIZONS]
        columns = ["model", "seeds", "params"] + [f"{k} ↓" for k in keys] + [f"{k} / persistence" for k in ("rel_l2_h1", "rel_l2_h16")]
        columns += ["valid_time ↑", "train s/step", "train samples/s", "infer ms/step"]
        rows = []
        for name in sorted(by_model, key=lambda n: (n != self.baseline, n)):
            rs = by_model[name]

            def col(key: str, rs: list[RunRecord] = rs) -> str:
                vals = [r.metrics[key] for r in rs if key in r.metrics]
                return fmt_mean_std(vals) if vals else "–"

            def ratio(key: str, rs: list[RunRecord] = rs) -> str:
                b = [r.metrics[key] for r in base if key in r.metrics]
                v = [r.metrics[key] for r in rs if key in r.metrics]
                return f"{statistics.fmean(v) / statistics.fmean(b):.2f}×" if b and v and statistics.fmean(b) else "–"

            sps = [r.timings.train_samples_per_s for r in rs if r.timings.train_samples_per_s]
            rows.append([f"{name} (baseline)" if name == self.baseline else name, str(len(rs)), f"{rs[0].n_params:,}",
                         *[col(k) for k in keys], ratio("rel_l2_h1"), ratio("rel_l2_h16"), col("valid_time"),
                         col("train_s_per_step"), fmt(statistics.fmean(sps)) if sps else "–", col("infer_ms_per_step")])
        notes = ["mean ± std over seeds on the whole test set; rel_l2_hN is the relative L2 error of rollout frame N; "
                 "valid_time in flow time units (correlation with the truth ≥ 0.9); timings are wall clock on this machine."]
        return [Table(title="Kolmogorov flow: rollout error by horizon", columns=columns, rows=rows, notes=notes)]

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        figs: dict[str, Any] = {"error_growth": horizon_plot(records, self.baseline, "rel_l2_h{h}", "relative L2",
                                                          "error growth with horizon (mean ± std over seeds)")}
        saved = {m: path for m in sorted({r.model for r in records}, key=lambda n: (n == self.baseline, n))
                 if (path := self.saved_predictions(run_dirs, f"{m}.npz")) is not None}  # example rollouts
        if saved:
            figs["rollout_fields"] = field_figure(saved, TABLE_HORIZONS)
        return figs


KOLMOGOROV2D = register_task(KolmogorovTask())


def _build_kolmogorov(cfg: Config) -> list[Path]:
    assert isinstance(cfg, KolmogorovData)
    load_kolmogorov(cfg)
    return [Path(cfg.path) if cfg.path is not None else kolmogorov_cache_file(cfg)]


register_dataset(DatasetEntry("pde.kolmogorov2d", KolmogorovData, _build_kolmogorov,
                              "2-D Kolmogorov flow vorticity (xarray NetCDF), seeded pseudo-spectral solver"))
