"""The ``timeseries.expanding_window`` task: sktime forecasters on a real univariate series.

A real-data check beside the synthetic long-horizon benchmark: a series that ships in a wheel
(default: Box & Jenkins' Airline passengers, 144 months) is evaluated with sktime's
``ExpandingWindowSplitter`` (each fold trains on everything before its cutoff and forecasts the
next ``horizon`` steps), and every model is scored by MASE (seasonal, ``sp`` steps) and sMAPE,
averaged over the folds, on the original scale. Models are sktime forecasters, estimator
entries of the registry (:mod:`~sciformers.timeseries.forecasting.sktime_models`): iTransformer
and Pathformer through our wrappers, DLinear through sktime's ``LTSFDLinearForecaster``, the
Theta method, and a seasonal-naive baseline. One copy of a model is fitted per fold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from sciformers.core import Config, get_model_spec
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.runner import Entry, Job, Result
from sciformers.evaluation.tasks import TaskSpec, register_task
from sciformers.timeseries import metrics as _metrics  # noqa: F401  (mase_h{h}, smape_h{h})
from sciformers.timeseries.forecasting.loaders import BUILTIN_SERIES, load_builtin_series
from sciformers.timeseries.forecasting.sktime_models import network_params

#: The registry entry behind the baseline's record name ``seasonal_naive``.
BASELINE_MODEL = "seasonal_naive_forecaster"


class ExpandingWindowConfig(Config):
    """The ``data:`` section of ``timeseries/forecast_airline``.

    Args:
        series: a series from :data:`BUILTIN_SERIES` (its first column is forecast).
        initial_window: training length of the first fold.
        step_length: steps between fold cutoffs.
        horizon: forecast steps ``1..horizon`` per fold.
        sp: seasonal period of the MASE scale and of the seasonal-naive and Theta models.
    """

    series: str = "airline"
    initial_window: int = Field(default=96, ge=4)
    step_length: int = Field(default=12, ge=1)
    horizon: int = Field(default=12, ge=1)
    sp: int = Field(default=12, ge=1)


@dataclass
class Folds:
    """The series, its expanding-window folds (``(train, test)`` index arrays, in order), the
    forecast steps ``1..horizon`` and the seasonal period."""

    y: pd.Series
    splits: list[tuple[np.ndarray, np.ndarray]]
    fh: np.ndarray
    sp: int


class ExpandingWindowTask(TaskSpec):
    """Expanding-window evaluation of sktime forecasters on a shipped real series."""

    name = "timeseries.expanding_window"
    version = "1"
    domain = "timeseries"
    description = ("sktime forecasters on a real univariate series (default Airline), expanding-window folds, "
                   "seasonal MASE and sMAPE averaged over folds on the original scale.")
    metrics = ()  # mase_h<H>, smape_h<H>: metric families
    baseline = "seasonal_naive"
    data_card = "sktime_forecasting_series.md"
    data_schema = ExpandingWindowConfig

    def prepare(self, ctx: RunContext) -> Folds:
        from sktime.split import ExpandingWindowSplitter

        cfg = ctx.data
        assert isinstance(cfg, ExpandingWindowConfig)
        if cfg.series not in BUILTIN_SERIES:
            raise ValueError(f"data.series: unknown series {cfg.series!r}; available: {', '.join(BUILTIN_SERIES)}")
        y = load_builtin_series(cfg.series).iloc[:, 0]
        if len(y) < cfg.initial_window + cfg.horizon:
            raise ValueError(f"data.initial_window: {cfg.initial_window} + horizon {cfg.horizon} exceeds the "
                             f"{len(y)} steps of {cfg.series!r}")
        fh = np.arange(1, cfg.horizon + 1)
        splitter = ExpandingWindowSplitter(fh=fh, initial_window=cfg.initial_window, step_length=cfg.step_length)
        return Folds(y, list(splitter.split(y)), fh, cfg.sp)

    def entries(self, ctx: RunContext) -> list[Entry]:
        """The baseline keeps the record name ``seasonal_naive`` but is sktime's naive forecaster."""
        base, *models = super().entries(ctx)
        return [replace(base, model=BASELINE_MODEL, kind=get_model_spec(BASELINE_MODEL).kind), *models]

    def model_kwargs(self, prepared: Folds, entry: Entry) -> dict[str, Any]:
        return {"horizon": len(prepared.fh), "sp": prepared.sp}

    def build(self, job: Job, prepared: Folds) -> list[Any]:
        """One unfitted copy of the forecaster per fold, seeded by ``random_state``."""
        model = job.build(random_state=job.seed)
        return [model.clone() for _ in prepared.splits]

    def fit(self, job: Job, model: list[Any], prepared: Folds) -> None:
        for forecaster, (train, _) in zip(model, prepared.splits):
            forecaster.fit(prepared.y.iloc[train], fh=prepared.fh)

    def predict(self, job: Job, model: list[Any], prepared: Folds) -> list[pd.Series]:
        return [forecaster.predict() for forecaster in model]

    def score(self, job: Job, prepared: Folds, predictions: list[pd.Series]) -> Result:
        """Seasonal MASE and sMAPE of every fold, averaged over the folds."""
        from sktime.performance_metrics.forecasting import mean_absolute_percentage_error, mean_absolute_scaled_error

        mase, smape = [], []
        for pred, (train, test) in zip(predictions, prepared.splits):
            y_train, y_test = prepared.y.iloc[train], prepared.y.iloc[test]
            mase.append(float(mean_absolute_scaled_error(y_test, pred, y_train=y_train, sp=prepared.sp)))
            smape.append(float(mean_absolute_percentage_error(y_test, pred, symmetric=True)))
        h = len(prepared.fh)
        return Result({f"mase_h{h}": float(np.mean(mase)), f"smape_h{h}": float(np.mean(smape))},
                      n_test=len(prepared.splits))

    def count_params(self, model: list[Any]) -> int:
        """Network weights of the last fold's forecaster (0 for Theta and seasonal naive)."""
        return network_params(model[-1])


EXPANDING_WINDOW = register_task(ExpandingWindowTask())
