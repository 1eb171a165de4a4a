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
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.core import Config, Trainer, create_model, save_model, seed_everything
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.datasets import DatasetEntry, register_dataset
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import Table, fmt, fmt_mean_std, mean_std
from sciformers.evaluation.tasks import Splits, SupervisedTask, register_task
from sciformers.pde import metrics as pm
from sciformers.pde.kolmogorov_data import KolmogorovData, kolmogorov_cache_file, load_kolmogorov
from sciformers.pde.peers import fno_width_for
from sciformers.pde.surrogate import Surrogate

TABLE_HORIZONS = (1, 4, 8, 16)
TIMING_DIRECTIONS = {"train_s_per_step": False, "infer_ms_per_step": False}


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
        self.frames, self.in_steps, self.target_steps = frames, in_steps, target_steps
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
            train=WindowDataset(parts["train"], data.in_steps, 1),  # re-windowed per model in _run_model
            val=WindowDataset(parts["val"], data.in_steps, 1, stride),  # re-windowed per model in _run_model
            test=WindowDataset(parts["test"], data.in_steps, data.eval_horizon, stride),
            info={"frame_dt": frame_dt, "mean": float(parts["train"].double().mean()),
                  "std": float(parts["train"].double().std())},
        )

    def targets(self, dataset: Dataset) -> Tensor:
        assert isinstance(dataset, WindowDataset)
        return torch.stack([dataset[i]["target"] for i in range(len(dataset))])

    # -- running ----------------------------------------------------------------------------

    def run(self, ctx: RunContext) -> Iterator[RunRecord]:
        data = ctx.data
        assert isinstance(data, KolmogorovData)
        splits = self.load(data)
        entries = [(self.baseline, self.baseline, {})]
        entries += [(name, e.model, {**ctx.model_defaults, **e.kwargs}) for name, e in ctx.models.items()]
        resolved: dict[str, dict[str, Any]] = {}
        for name, model_name, kwargs in entries:
            kwargs = {**kwargs, "in_steps": data.in_steps}
            ref = kwargs.pop("match_params", None)
            if ref is not None:
                if ref not in resolved:
                    raise ValueError(f"models.{name}.kwargs.match_params: {ref!r} is not a model listed before it")
                ref_model = create_model(resolved[ref]["model"], **resolved[ref]["kwargs"])
                target = sum(p.numel() for p in ref_model.parameters())
                kwargs["hidden_channels"] = fno_width_for(target, data.in_steps, kwargs.get("out_steps", 1),
                                                          kwargs.get("n_modes", (12, 12)), kwargs.get("n_layers", 4))
            resolved[name] = {"model": model_name, "kwargs": kwargs}
        samples = torch.arange(min(2, len(splits.test)))
        for name, spec in resolved.items():
            for seed in ctx.seeds:
                if not ctx.is_done(self.name, name, seed):
                    yield self._run_model(ctx, splits, name, spec["model"], spec["kwargs"], seed, samples)

    def _run_model(self, ctx: RunContext, splits: Splits, name: str, model_name: str, kwargs: dict[str, Any],
                   seed: int, samples: Tensor) -> RunRecord:
        data, info = ctx.data, splits.info or {}
        assert isinstance(data, KolmogorovData)
        seed_everything(seed)
        module: Surrogate = create_model(model_name, **kwargs)
        module.set_normalization(info["mean"], info["std"])
        run_dir = ctx.out_dir / "checkpoints" / name / f"seed{seed}"
        trainer = Trainer(ctx.train, run_dir=run_dir, device=ctx.device, seed=seed, quiet=ctx.quiet)
        fit_s, samples_per_s, steps = 0.0, None, 0
        if name != self.baseline:
            ctx.say(f"{self.name}: training {name} (seed {seed})")
            assert isinstance(splits.train, WindowDataset) and isinstance(splits.val, WindowDataset)
            train = WindowDataset(splits.train.frames, data.in_steps, module.train_frames)
            val = WindowDataset(splits.val.frames, data.in_steps, module.out_steps, data.window_stride)
            fit = trainer.fit(module, train, val)
            fit_s, samples_per_s, steps = fit.fit_s, fit.train_samples_per_s, fit.steps
        t0 = time.perf_counter()
        pred = trainer.predict(module, splits.test)
        eval_s = time.perf_counter() - t0
        save_model(run_dir / "final", module, {"model": model_name, "kwargs": kwargs})
        target = self.targets(splits.test)
        pred = pred.float().cpu()
        per_h = pm.rel_l2_per_horizon(pred, target)
        metrics = {f"rel_l2_h{h}": float(per_h[h - 1]) for h in range(1, min(len(per_h), pm.MAX_HORIZON) + 1)}
        metrics["valid_time"] = pm.valid_time(pred, target, info["frame_dt"])
        n_steps = len(target) * target.shape[1]
        metrics["infer_ms_per_step"] = 1000.0 * eval_s / n_steps
        if steps:
            metrics["train_s_per_step"] = fit_s / steps
        if seed == ctx.seeds[0]:
            self._save_fields(ctx, name, pred[samples], target[samples])
        return ctx.record(task=self, model=name, seed=seed, n_params=sum(p.numel() for p in module.parameters()),
                          metrics=metrics, fit_s=fit_s, eval_s=eval_s, train_samples_per_s=samples_per_s,
                          infer_ms_per_sample=1000.0 * eval_s / len(target), higher_is_better=TIMING_DIRECTIONS)

    def _save_fields(self, ctx: RunContext, name: str, pred: Tensor, target: Tensor) -> None:
        self.write_predictions(ctx.out_dir, f"{name}.npz", {"pred": pred.numpy(), "target": target.numpy()})  # field figure

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
        figs: dict[str, Any] = {"error_growth": _error_growth(records, self.baseline)}
        saved = {m: path for m in sorted({r.model for r in records}, key=lambda n: (n == self.baseline, n))
                 if (path := self.saved_predictions(run_dirs, f"{m}.npz")) is not None}  # example rollouts
        if saved:
            figs["rollout_fields"] = _field_figure(saved)
        return figs


def _error_growth(records: list[RunRecord], baseline: str) -> plt.Figure:
    by_model: dict[str, list[RunRecord]] = defaultdict(list)
    for r in records:
        by_model[r.model].append(r)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for i, name in enumerate(sorted(by_model, key=lambda n: (n != baseline, n))):
        hs = [h for h in range(1, pm.MAX_HORIZON + 1) if all(f"rel_l2_h{h}" in r.metrics for r in by_model[name])]
        stats = [mean_std([r.metrics[f"rel_l2_h{h}"] for r in by_model[name]]) for h in hs]
        m, s = np.array([a for a, _ in stats]), np.array([b for _, b in stats])
        color = "0.5" if name == baseline else f"C{i}"
        ax.plot(hs, m, marker="o", ms=3, color=color, label=name)
        ax.fill_between(hs, m - s, m + s, color=color, alpha=0.2)
    ax.set_xlabel("rollout step")
    ax.set_ylabel("relative L2")
    ax.set_yscale("log")
    ax.set_title("error growth with horizon (mean ± std over seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _field_figure(saved: dict[str, Path]) -> plt.Figure:
    """Truth, then each model's prediction and error (in ``saved``'s order) at the table horizons."""
    runs = {name: np.load(path) for name, path in saved.items()}
    target = next(iter(runs.values()))["target"][0]
    horizons = [h for h in TABLE_HORIZONS if h <= target.shape[0]]
    rows = 1 + 2 * len(runs)
    fig, axes = plt.subplots(rows, len(horizons), figsize=(0.4 + 1.0 * len(horizons), 0.3 + 0.95 * rows), squeeze=False)
    vmax = float(np.abs(target).max())
    panels = [("truth", target, "RdBu_r")]
    for name, arrays in runs.items():
        pred = arrays["pred"][0]
        panels += [(f"{name}", pred, "RdBu_r"), (f"{name} error", pred - target, "PuOr_r")]
    for row, (label, field, cmap) in enumerate(panels):
        for col, h in enumerate(horizons):
            ax = axes[row, col]
            ax.imshow(field[h - 1].T, origin="lower", cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"step {h}", fontsize=7)
            if col == 0:
                ax.set_ylabel(label, fontsize=6)
    fig.suptitle("vorticity: truth, prediction, error (test sample 0)", fontsize=7)
    fig.tight_layout(pad=0.3, rect=(0, 0, 1, 0.97))
    return fig


KOLMOGOROV2D = register_task(KolmogorovTask())


def _build_kolmogorov(cfg: Config) -> list[Path]:
    assert isinstance(cfg, KolmogorovData)
    load_kolmogorov(cfg)
    return [Path(cfg.path) if cfg.path is not None else kolmogorov_cache_file(cfg)]


register_dataset(DatasetEntry("pde.kolmogorov2d", KolmogorovData, _build_kolmogorov,
                              "2-D Kolmogorov flow vorticity (xarray NetCDF), seeded pseudo-spectral solver"))
