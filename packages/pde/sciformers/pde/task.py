"""The ``pde.kolmogorov2d`` and ``pde.smoke3d`` tasks: autoregressive PDE surrogates side by side.

Every model maps a window of ``in_steps`` frames to the next frames and is trained by the shared
Trainer with FactFormer's recipe (:mod:`sciformers.pde.surrogate`). Test samples are windows of
the test trajectories; each is rolled out ``eval_horizon`` frames and scored against the solver
at every horizon (whole test set). Persistence is the trivial baseline. An FNO entry may set
``match_params: <model>`` to pick the width whose parameter count is closest to that model's
(within ±15%).

- ``pde.kolmogorov2d``: 2-D Kolmogorov-flow vorticity ``(T, X, Y)`` from our pseudo-spectral solver;
- ``pde.smoke3d``: 3-D smoke buoyancy from PhiFlow, four fields per frame ``(T, 4, X, Y, Z)``
  (density, velocity x/y/z), each normalized and scored on its own (FactFormer's second benchmark).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Sequence

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
from sciformers.pde.smoke_data import FIELDS, SmokeData, load_smoke, smoke_cache_file
from sciformers.pde.surrogate import Surrogate

TABLE_HORIZONS = (1, 4, 8, 16)


class WindowDataset(Dataset):
    """Windows ``{"inputs": (in_steps, *frame), "target": (target_steps, *frame)}`` of trajectories.

    Args:
        frames: ``(S, T, *frame)`` trajectories (a frame is ``(X, Y)`` or ``(C, X, Y, Z)``).
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


class RolloutTask(SupervisedTask):
    """What both PDE tasks share: windows of trajectories, normalization, rollout scoring, the report.

    A subclass reads its data (:meth:`trajectories`) and names its table and figure.
    """

    metrics = tuple(f"rel_l2_h{h}" for h in range(1, pm.MAX_HORIZON + 1)) + ("valid_time",)
    baseline = "persistence"
    per_channel: ClassVar[bool] = False  # frames carry several fields, scored each on its own
    table_title: ClassVar[str]
    field_title: ClassVar[str]

    # -- data -------------------------------------------------------------------------------

    def trajectories(self, data: Config) -> tuple[Tensor, np.ndarray | None, float]:
        """``(S, T, *frame)`` float32 frames, the ``split`` label of each trajectory (``None``: the
        file has none) and the time between frames."""
        raise NotImplementedError

    def load(self, data: Config) -> Splits:
        frames, split, frame_dt = self.trajectories(data)
        if split is None:  # a user's file without splits: the last trajectories are test, the ones before val
            n = frames.shape[0]
            split = np.array(["train"] * (n - data.n_val - data.n_test) + ["val"] * data.n_val + ["test"] * data.n_test)
        parts = {k: frames[torch.from_numpy(split == k)] for k in ("train", "val", "test")}
        for k, v in parts.items():
            if len(v) == 0:
                raise ValueError(f"data: no {k} trajectories (split counts {dict(zip(*np.unique(split, return_counts=True)))})")
        stride = data.window_stride
        train = parts["train"].double()
        if self.per_channel:  # one mean and standard deviation per field
            dims = [d for d in range(train.dim()) if d != 2]
            mean, std = train.mean(dim=dims).tolist(), train.std(dim=dims).tolist()
        else:
            mean, std = float(train.mean()), float(train.std())
        return Splits(
            train=WindowDataset(parts["train"], data.in_steps, 1),  # re-windowed per model in train_sets
            val=WindowDataset(parts["val"], data.in_steps, 1, stride),  # re-windowed per model in train_sets
            test=WindowDataset(parts["test"], data.in_steps, data.eval_horizon, stride),
            info={"frame_dt": frame_dt, "mean": mean, "std": std},
        )

    def targets(self, dataset: Dataset) -> Tensor:
        assert isinstance(dataset, WindowDataset)
        return torch.stack([dataset[i]["target"] for i in range(len(dataset))])

    # -- the runner's steps -----------------------------------------------------------------

    def model_inputs(self, splits: Splits) -> dict[str, Any]:
        assert isinstance(splits.test, WindowDataset)
        extra = {"channels": int(splits.test.frames.shape[2])} if self.per_channel else {}
        return {"in_steps": splits.test.in_steps, **extra}

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
                                                          kwargs.get("n_modes", (12, 12)), kwargs.get("n_layers", 4),
                                                          channels=kwargs.get("channels", 1))
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

    def horizon_metrics(self, pred: Tensor, target: Tensor) -> dict[str, float]:
        """``rel_l2_h{h}`` for every horizon (per field, then averaged, if :attr:`per_channel`)."""
        per_h = pm.rel_l2_per_horizon(pred, target, self.per_channel)
        return {f"rel_l2_h{h}": float(per_h[h - 1]) for h in range(1, min(len(per_h), pm.MAX_HORIZON) + 1)}

    def score(self, job: Job, prepared: Splits, predictions: Tensor) -> Result:
        """``rel_l2_h{h}`` per horizon, ``valid_time`` and the time per rollout step and per optimizer step."""
        target, pred = self.targets(prepared.test), predictions
        metrics = self.horizon_metrics(pred, target)
        metrics["valid_time"] = pm.valid_time(pred, target, (prepared.info or {})["frame_dt"], per_channel=self.per_channel)
        metrics["infer_ms_per_step"] = 1000.0 * job.eval_s / (len(target) * target.shape[1])
        fit = job.fits.get("")
        if fit is not None and fit.steps:
            metrics["train_s_per_step"] = fit.fit_s / fit.steps
        return Result(metrics, n_test=len(target))

    def example_fields(self, frames: Tensor) -> Tensor:
        """``(n, H, *frame)`` -> the 2-D fields the figure shows, ``(n, H, X, Y)``."""
        return frames

    def artifacts(self, job: Job, prepared: Splits, predictions: Tensor) -> dict[str, dict[str, Any]]:
        """``<model>.npz``: the first two test rollouts and their truth, first seed only (the field figure)."""
        if not job.is_first_seed:
            return {}
        n = min(2, len(prepared.test))  # type: ignore[arg-type]
        target = torch.stack([prepared.test[i]["target"] for i in range(n)])
        return {f"{job.name}.npz": {"pred": self.example_fields(predictions[:n]).numpy(),
                                    "target": self.example_fields(target).numpy()}}

    # -- report -----------------------------------------------------------------------------

    def extra_columns(self) -> list[tuple[str, str]]:
        """``(header, metric key)`` of further columns (per-field errors)."""
        return []

    def tables(self, records: list[RunRecord]) -> list[Table]:
        by_model: dict[str, list[RunRecord]] = defaultdict(list)
        for r in records:
            by_model[r.model].append(r)
        base = by_model.get(self.baseline, [])
        keys = [f"rel_l2_h{h}" for h in TABLE_HORIZONS]
        extra = self.extra_columns()
        columns = ["model", "seeds", "params"] + [f"{k} ↓" for k in keys] + [f"{k} / persistence" for k in ("rel_l2_h1", "rel_l2_h16")]
        columns += [f"{h} ↓" for h, _ in extra]
        columns += ["valid_time ↑", "train s/step", "train samples/s", "infer ms/step", "peak MiB"]
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
                         *[col(k) for k in keys], ratio("rel_l2_h1"), ratio("rel_l2_h16"), *[col(k) for _, k in extra],
                         col("valid_time"), col("train_s_per_step"), fmt(statistics.fmean(sps)) if sps else "–",
                         col("infer_ms_per_step"), fmt(max(r.peak_rss_mb for r in rs))])
        notes = ["mean ± std over seeds on the whole test set; rel_l2_hN is the relative L2 error of rollout frame N"
                 + (" (each field's, averaged over the fields)" if self.per_channel else "")
                 + "; valid_time in flow time units (correlation with the truth ≥ 0.9); timings are wall clock and "
                 "peak MiB the largest resident-set high-water mark over seeds on this machine."]
        return [Table(title=self.table_title, columns=columns, rows=rows, notes=notes)]

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        figs: dict[str, Any] = {"error_growth": horizon_plot(records, self.baseline, "rel_l2_h{h}", "relative L2",
                                                          "error growth with horizon (mean ± std over seeds)")}
        saved = {m: path for m in sorted({r.model for r in records}, key=lambda n: (n == self.baseline, n))
                 if (path := self.saved_predictions(run_dirs, f"{m}.npz")) is not None}  # example rollouts
        if saved:
            figs["rollout_fields"] = field_figure(saved, TABLE_HORIZONS, self.field_title)
        return figs


def _split_and_dt(ds: Any) -> tuple[np.ndarray | None, float]:
    """A trajectory dataset's ``split`` labels (None where it has none) and its frame spacing."""
    split = np.asarray(ds["split"].values).astype(str) if "split" in ds.coords else None
    times = ds["time"].values
    return split, float(times[1] - times[0]) if len(times) > 1 else 1.0


class KolmogorovTask(RolloutTask):
    """Kolmogorov flow at one Reynolds number: FactFormer beside FNO and persistence."""

    name = "pde.kolmogorov2d"
    version = "2"  # 2: frames of a finer solve are Fourier-truncated (the full preset's data changed)
    domain = "pde"
    description = ("2-D Kolmogorov flow (vorticity, periodic [0,2π)², forcing −n cos(ny), drag) from a seeded "
                   "pseudo-spectral solver; window of frames -> autoregressive rollout, relative L2 per horizon "
                   "on the whole test set.")
    data_card = "kolmogorov2d.md"
    data_schema = KolmogorovData
    table_title = "Kolmogorov flow: rollout error by horizon"
    field_title = "vorticity: truth, prediction, error (test sample 0)"

    def trajectories(self, data: Config) -> tuple[Tensor, np.ndarray | None, float]:
        assert isinstance(data, KolmogorovData)
        ds = load_kolmogorov(data)
        frames = torch.from_numpy(ds["vorticity"].values.astype(np.float32))
        return frames, *_split_and_dt(ds)


class SmokeTask(RolloutTask):
    """3-D smoke buoyancy (PhiFlow): FactFormer-3D beside a 3-D FNO and persistence, four fields per frame."""

    name = "pde.smoke3d"
    version = "1"
    domain = "pde"
    description = ("3-D smoke rising by buoyancy in a closed box (PhiFlow, density + staggered velocity); window "
                   "of frames -> autoregressive rollout, relative L2 of each field per horizon on the whole test set.")
    metrics = RolloutTask.metrics + ("rel_l2_density_h1", "rel_l2_velocity_h1", "rel_l2_density_h16",
                                     "rel_l2_velocity_h16")
    per_channel = True
    data_card = "smoke3d.md"
    data_schema = SmokeData
    table_title = "3-D smoke buoyancy: rollout error by horizon"
    field_title = "smoke density, x-z slice through the middle: truth, prediction, error (test sample 0)"

    def trajectories(self, data: Config) -> tuple[Tensor, np.ndarray | None, float]:
        assert isinstance(data, SmokeData)
        ds = load_smoke(data)
        frames = torch.from_numpy(np.stack([ds[f].values for f in FIELDS], axis=2).astype(np.float32))
        return frames, *_split_and_dt(ds)

    def horizon_metrics(self, pred: Tensor, target: Tensor) -> dict[str, float]:
        """Also the density's and the velocity's own errors (``rel_l2_{density,velocity}_h{h}``)."""
        metrics = super().horizon_metrics(pred, target)
        density = pm.rel_l2_per_horizon(pred[:, :, 0], target[:, :, 0])
        velocity = pm.rel_l2_per_horizon(pred[:, :, 1:], target[:, :, 1:])
        for h in range(1, min(len(density), pm.MAX_HORIZON) + 1):
            metrics[f"rel_l2_density_h{h}"] = float(density[h - 1])
            metrics[f"rel_l2_velocity_h{h}"] = float(velocity[h - 1])
        return metrics

    def example_fields(self, frames: Tensor) -> Tensor:
        """The density on the x-z plane through the middle of the box."""
        return frames[:, :, 0, :, frames.shape[-2] // 2, :]

    def extra_columns(self) -> list[tuple[str, str]]:
        return [("density h1", "rel_l2_density_h1"), ("velocity h1", "rel_l2_velocity_h1"),
                ("density h16", "rel_l2_density_h16"), ("velocity h16", "rel_l2_velocity_h16")]


KOLMOGOROV2D = register_task(KolmogorovTask())
SMOKE3D = register_task(SmokeTask())


def _build_kolmogorov(cfg: Config) -> list[Path]:
    assert isinstance(cfg, KolmogorovData)
    load_kolmogorov(cfg)
    return [Path(cfg.path) if cfg.path is not None else kolmogorov_cache_file(cfg)]


register_dataset(DatasetEntry("pde.kolmogorov2d", KolmogorovData, _build_kolmogorov,
                              "2-D Kolmogorov flow vorticity (xarray NetCDF), seeded pseudo-spectral solver"))


def _build_smoke(cfg: Config) -> list[Path]:
    assert isinstance(cfg, SmokeData)
    load_smoke(cfg)
    return [Path(cfg.path) if cfg.path is not None else smoke_cache_file(cfg)]


register_dataset(DatasetEntry("pde.smoke3d", SmokeData, _build_smoke,
                              "3-D smoke buoyancy, density + staggered velocity (xarray NetCDF), PhiFlow"))
