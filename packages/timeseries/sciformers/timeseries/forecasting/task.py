"""The ``timeseries.long_horizon`` task: every model at every horizon on the same windows.

Lookback 96, horizons 96/192/336/720 (``data.horizons``), a time split with ETTh1's 12/4/4
months, a scaler fitted on train only, and every test window scored (no ``drop_last``); see
:mod:`sciformers.timeseries.forecasting.windows`. As in the papers, one model is trained per
horizon. A record holds one (model, seed) with ``mse_h<H>`` and ``mae_h<H>`` for every horizon,
computed on the standardised series over all test windows, steps and variates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from pydantic import Field, field_validator
from torch.utils.data import Dataset, Subset

from sciformers.core import Config
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.datasets import DatasetEntry, register_dataset
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import Table, fmt, horizon_table
from sciformers.evaluation.runner import Entry, Job, Result
from sciformers.evaluation.tasks import TaskSpec, register_task
from sciformers.timeseries import metrics as _metrics  # noqa: F401  (mse_h{h}, mae_h{h})
from sciformers.timeseries.forecasting.base import WindowForecaster
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


@dataclass
class Series:
    """The standardised, split series and the protocol's settings (``data:``)."""

    data: LongHorizonData
    cfg: LongHorizonConfig

    def windows(self, horizon: int) -> tuple[WindowDataset, WindowDataset, WindowDataset]:
        """Train, validation and test windows for ``horizon``."""
        return self.data.datasets(self.cfg.seq_len, horizon)


class LongHorizonTask(TaskSpec):
    """Long-horizon multivariate forecasting: MSE and MAE per horizon, beside seasonal naive.

    One job trains one model per horizon (built just before it is trained, each seeded alike),
    each a training stage ``h<H>`` with its checkpoints under ``h<H>/``. A model without trainable
    parameters (seasonal naive) is not trained.
    """

    name = "timeseries.long_horizon"
    version = "1"
    domain = "timeseries"
    description = (
        "Long-horizon multivariate forecasting (lookback 96, one model per horizon, ETTh1 time split, "
        "train-only scaler, every test window); MSE and MAE on standardised data per horizon."
    )
    metrics = ()  # mse_h<H>, mae_h<H>: metric families
    baseline = "seasonal_naive"
    data_card = "ettlike.md"
    data_schema = LongHorizonConfig

    def prepare(self, ctx: RunContext) -> Series:
        cfg = ctx.data
        assert isinstance(cfg, LongHorizonConfig)
        data, source = load_long_horizon(cfg)
        ctx.say(f"{self.name}: {source}, {data.values.shape[0]} rows x {data.values.shape[1]} variates")
        return Series(data, cfg)

    def model_kwargs(self, prepared: Series, entry: Entry) -> dict[str, Any]:
        inputs: dict[str, Any] = {"seq_len": prepared.cfg.seq_len, "n_vars": len(prepared.data.columns)}
        return {"sp": prepared.cfg.season, **inputs} if entry.baseline else inputs

    def build(self, job: Job, prepared: Series) -> dict[int, WindowForecaster]:
        """An empty horizon -> model map: :meth:`fit` builds each model right before training it."""
        return {}

    def fit(self, job: Job, model: dict[int, WindowForecaster], prepared: Series) -> None:
        for horizon in prepared.cfg.horizons:
            module = model[horizon] = job.build(pred_len=horizon)
            if any(p.requires_grad for p in module.parameters()):  # seasonal naive has nothing to train
                train, val, _ = prepared.windows(horizon)
                stride = prepared.cfg.val_stride
                val_set: Dataset = Subset(val, range(0, len(val), stride)) if stride > 1 else val
                job.fit(module, train, val_set, stage=f"h{horizon}")

    def predict(self, job: Job, model: dict[int, WindowForecaster], prepared: Series) -> dict[int, torch.Tensor]:
        return {h: job.predict(module, prepared.windows(h)[2]) for h, module in model.items()}

    def save(self, job: Job, model: dict[int, WindowForecaster]) -> None:
        """Every horizon's model under ``h<H>/final``."""
        for horizon, module in model.items():
            job.save(module, {"kwargs": {**job.kwargs, "pred_len": horizon}}, stage=f"h{horizon}/final")

    def score(self, job: Job, prepared: Series, predictions: dict[int, torch.Tensor]) -> Result:
        metrics: dict[str, float] = {}
        n_test = 0
        for horizon, pred in predictions.items():
            test = prepared.windows(horizon)[2]
            metrics[f"mse_h{horizon}"], metrics[f"mae_h{horizon}"] = mse_mae(pred, test.targets())
            n_test += len(test)
        return Result(metrics, n_test=n_test)

    def artifacts(self, job: Job, prepared: Series, predictions: dict[int, torch.Tensor]) -> dict[str, dict[str, Any]]:
        """``<model>_windows.json``: the first seed's forecasts of a few test windows at the first horizon."""
        cfg = prepared.cfg
        if not job.is_first_seed or cfg.plot_windows <= 0:
            return {}
        horizon = cfg.horizons[0]
        test = prepared.windows(horizon)[2]
        return {f"{job.name}_windows.json": example_windows(test, predictions[horizon], cfg.plot_windows,
                                                            prepared.data.columns)}

    def count_params(self, model: dict[int, WindowForecaster]) -> int:
        """Parameters of the largest-horizon model."""
        return max((sum(p.numel() for p in m.parameters()) for m in model.values()), default=0)

    # -- report -------------------------------------------------------------------------------

    def tables(self, records: list[RunRecord]) -> list[Table]:
        """MSE and MAE by horizon beside the baseline (the shared horizon table), fit time with the MSE."""
        fit = {"fit s (all horizons)": lambda rs: fmt(float(np.mean([r.timings.fit_s for r in rs])))}
        return [horizon_table(records, self.baseline, f"{metric}_h{{h}}",
                              f"{metric.upper()} on the standardised test windows, by horizon",
                              notes=["params of the largest-horizon model."], extra=fit if metric == "mse" else None)
                for metric in ("mse", "mae")]

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


register_dataset(DatasetEntry("timeseries.ettlike", ETTLikeConfig, _build_ettlike,
                              "ETT-like hourly series (7 variates, daily/weekly seasonality, lagged coupling), seeded",
                              aliases=("ettlike",)))
