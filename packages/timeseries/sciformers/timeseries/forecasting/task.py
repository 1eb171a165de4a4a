"""The ``timeseries.long_horizon`` task: every model at every horizon on the same windows.

Lookback 96, horizons 96/192/336/720 (``data.horizons``), a time split with ETTh1's 12/4/4
months, a scaler fitted on train only, and every test window scored (no ``drop_last``); see
:mod:`sciformers.timeseries.forecasting.windows`. As in the papers, one model is trained per
horizon. A record holds one (model, seed) with ``mse_h<H>`` and ``mae_h<H>`` for every horizon,
computed on the standardised series over all test windows, steps and variates.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from pydantic import Field, field_validator
from torch.utils.data import Dataset, Subset

from sciformers.core import Config, Trainer, create_model, save_model, seed_everything
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.datasets import DatasetEntry, register_dataset
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import Table, fmt, fmt_mean_std, mean_std
from sciformers.evaluation.tasks import TaskSpec, register_task
from sciformers.timeseries.forecasting.ettlike import ETTLikeConfig, ettlike_csv
from sciformers.timeseries.forecasting.loaders import read_series_csv
from sciformers.timeseries.forecasting.plots import error_vs_horizon_plot, forecast_plot
from sciformers.timeseries.forecasting.windows import LongHorizonData, SplitScheme, WindowDataset


class LongHorizonConfig(ETTLikeConfig):
    """The ``data:`` section of ``timeseries/forecast_ettlike`` (generator keys are inherited).

    Args:
        path: a CSV in the ETT/Electricity/Weather layout (``date`` + variates) to use instead
            of the generator.
        columns: variates to keep (default: all).
        split: ``ett_hour`` (ETTh 12/4/4 months), ``ett_minute`` (ETTm) or ``ratio`` (70/10/20 %).
        seq_len: lookback ``L``.
        horizons: forecast horizons ``H``; one model is trained per horizon.
        season: season length of the seasonal-naive baseline, in steps.
        val_stride: score every ``val_stride``-th validation window during training (CPU presets);
            the test set always uses every window.
        plot_windows: test windows drawn in the forecast plot.
    """

    path: str | None = None
    columns: list[str] | None = None
    split: SplitScheme = "ett_hour"
    seq_len: int = Field(default=96, ge=2)
    horizons: list[int] = Field(default_factory=lambda: [96, 192, 336, 720], min_length=1)
    season: int = Field(default=24, ge=1)
    val_stride: int = Field(default=1, ge=1)
    plot_windows: int = Field(default=3, ge=0)

    @field_validator("horizons")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(h < 1 for h in v) or len(set(v)) != len(v):
            raise ValueError(f"horizons must be distinct positive integers, got {v}")
        return sorted(v)

    def generator(self) -> ETTLikeConfig:
        """The generator settings alone."""
        return ETTLikeConfig(**{k: getattr(self, k) for k in ETTLikeConfig.model_fields})


def load_long_horizon(cfg: LongHorizonConfig) -> tuple[LongHorizonData, str]:
    """The standardised, split series for ``cfg`` and the file it came from."""
    path = Path(cfg.path).expanduser() if cfg.path else ettlike_csv(cfg.generator())
    df = read_series_csv(path)
    if cfg.columns is not None:
        missing = [c for c in cfg.columns if c not in df.columns]
        if missing:
            raise ValueError(f"data.columns: {missing} not in {path} (columns: {list(df.columns)})")
        df = df[cfg.columns]
    return LongHorizonData.prepare(df.to_numpy(), list(df.columns), cfg.seq_len, cfg.split), str(path)


def mse_mae(pred: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
    """Mean squared and mean absolute error over every element, in float64."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    err = pred.double() - target.double()
    return float((err**2).mean()), float(err.abs().mean())


class LongHorizonTask(TaskSpec):
    """Long-horizon multivariate forecasting: MSE and MAE per horizon, beside seasonal naive."""

    name = "timeseries.long_horizon"
    version = "1"
    domain = "timeseries"
    description = (
        "Long-horizon multivariate forecasting (lookback 96, one model per horizon, ETTh1 time split, "
        "train-only scaler, every test window); MSE and MAE on standardised data per horizon."
    )
    metrics = ()  # mse_h<H>, mae_h<H>: named per horizon at run time
    baseline = "seasonal_naive"
    data_card = "ettlike.md"
    data_schema = LongHorizonConfig

    def run(self, ctx: RunContext) -> Iterator[RunRecord]:
        cfg = ctx.data
        assert isinstance(cfg, LongHorizonConfig)
        data, source = load_long_horizon(cfg)
        ctx.say(f"{self.name}: {source}, {data.values.shape[0]} rows x {data.values.shape[1]} variates")
        entries = [(self.baseline, self.baseline, {"sp": cfg.season})]
        entries += [(name, e.model, {**ctx.model_defaults, **e.kwargs}) for name, e in ctx.models.items()]
        for seed in ctx.seeds:  # seeds outermost: a partial run already compares every model
            for name, model_name, kwargs in entries:
                if not ctx.is_done(self.name, name, seed):
                    yield self._run_one(ctx, cfg, data, name, model_name, kwargs, seed)

    def _run_one(
        self, ctx: RunContext, cfg: LongHorizonConfig, data: LongHorizonData, name: str, model_name: str,
        kwargs: dict[str, Any], seed: int,
    ) -> RunRecord:
        """Train and score one (model, seed) at every horizon."""
        metrics: dict[str, float] = {}
        fit_s = eval_s = 0.0
        n_params, n_test = 0, 0
        for horizon in cfg.horizons:
            train, val, test = data.datasets(cfg.seq_len, horizon)
            seed_everything(seed)
            module = create_model(model_name, seq_len=cfg.seq_len, pred_len=horizon, n_vars=len(data.columns), **kwargs)
            run_dir = ctx.out_dir / "checkpoints" / name / f"seed{seed}" / f"h{horizon}"
            trainer = Trainer(ctx.train, run_dir=run_dir, device=ctx.device, seed=seed, quiet=ctx.quiet)
            if any(p.requires_grad for p in module.parameters()):
                ctx.say(f"{self.name}: training {name} (seed {seed}, horizon {horizon})")
                val_set: Dataset = Subset(val, range(0, len(val), cfg.val_stride)) if cfg.val_stride > 1 else val
                fit_s += trainer.fit(module, train, val_set).fit_s
            t0 = time.perf_counter()
            pred = trainer.predict(module, test)
            eval_s += time.perf_counter() - t0
            assert isinstance(pred, torch.Tensor)
            target = test.targets()
            metrics[f"mse_h{horizon}"], metrics[f"mae_h{horizon}"] = mse_mae(pred, target)
            n_params = max(n_params, sum(p.numel() for p in module.parameters()))
            n_test += len(test)
            save_model(run_dir / "final", module, {"model": model_name, "kwargs": {
                **kwargs, "seq_len": cfg.seq_len, "pred_len": horizon, "n_vars": len(data.columns)}})
            if seed == ctx.seeds[0] and horizon == cfg.horizons[0] and cfg.plot_windows > 0:
                self.write_predictions(ctx.out_dir, f"{name}_windows.json",
                                       example_windows(test, pred, cfg.plot_windows, data.columns))
        return ctx.record(
            task=self, model=name, seed=seed, n_params=n_params, metrics=metrics, fit_s=fit_s, eval_s=eval_s,
            infer_ms_per_sample=1000.0 * eval_s / max(n_test, 1), higher_is_better={k: False for k in metrics},
        )

    # -- report -------------------------------------------------------------------------------

    def tables(self, records: list[RunRecord]) -> list[Table]:
        by_model: dict[str, list[RunRecord]] = defaultdict(list)
        for r in records:
            by_model[r.model].append(r)
        horizons = sorted({int(k.split("_h")[1]) for r in records for k in r.metrics})
        order = sorted(by_model, key=lambda n: (n != self.baseline, n))
        tables = []
        for metric in ("mse", "mae"):
            base = {h: mean_std([r.metrics[f"{metric}_h{h}"] for r in by_model.get(self.baseline, [])
                                 if f"{metric}_h{h}" in r.metrics] or [float("nan")])[0] for h in horizons}
            rows = []
            for name in order:
                row = [f"{name} (baseline)" if name == self.baseline else name, str(len(by_model[name])),
                       f"{by_model[name][0].n_params:,}"]
                for h in horizons:
                    vals = [r.metrics[f"{metric}_h{h}"] for r in by_model[name] if f"{metric}_h{h}" in r.metrics]
                    ratio = f" ({np.mean(vals) / base[h]:.2f}×)" if vals and base[h] == base[h] and base[h] else ""
                    row.append(fmt_mean_std(vals) + ratio if vals else "–")
                if metric == "mse":
                    row.append(fmt(float(np.mean([r.timings.fit_s for r in by_model[name]]))))
                rows.append(row)
            columns = ["model", "seeds", "params"] + [f"{metric.upper()} h{h} ↓" for h in horizons]
            columns += ["fit s (all horizons)"] if metric == "mse" else []
            tables.append(Table(
                title=f"{metric.upper()} on the standardised test windows, by horizon", columns=columns, rows=rows,
                notes=[f"mean ± std over seeds; (r×) = model mean / {self.baseline} mean; params of the largest-horizon model."],
            ))
        return tables

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        """Error against horizon; the first seed's forecasts of a few test windows, from the run folders."""
        figures = {"error_vs_horizon": error_vs_horizon_plot(records, self.baseline)}
        samples: dict[str, Any] = {"forecasts": {}}
        for model in dict.fromkeys(r.model for r in records):
            path = self.saved_predictions(run_dirs, f"{model}_windows.json")
            if path is not None:
                saved = json.loads(path.read_text())
                samples |= {k: np.asarray(v) if k in ("x", "y") else v for k, v in saved.items() if k != "forecast"}
                samples["forecasts"][model] = np.asarray(saved["forecast"])
        if samples["forecasts"]:
            figures["forecasts"] = forecast_plot(samples)
        return figures


def example_windows(test: WindowDataset, pred: torch.Tensor, k: int, columns: list[str]) -> dict[str, Any]:
    """``k`` evenly spaced test windows (lookback, truth) and one model's forecasts of them, as JSON lists."""
    idx = np.linspace(0, len(test) - 1, k).round().astype(int)
    return {"columns": columns, "windows": idx.tolist(), "x": torch.stack([test[i]["x"] for i in idx]).tolist(),
            "y": torch.stack([test[i]["y"] for i in idx]).tolist(), "forecast": pred[idx].tolist()}


LONG_HORIZON = register_task(LongHorizonTask())


def _build_ettlike(cfg: Config) -> list[Path]:
    assert isinstance(cfg, ETTLikeConfig)
    return [ettlike_csv(cfg)]


register_dataset(DatasetEntry("ettlike", ETTLikeConfig, _build_ettlike,
                              "ETT-like hourly series (7 variates, daily/weekly seasonality, lagged coupling), seeded"))
