"""The ``timeseries.expanding_window`` task: sktime forecasters on a real univariate series.

A real-data check beside the synthetic long-horizon benchmark: a series that ships in a wheel
(default: Box & Jenkins' Airline passengers, 144 months) is evaluated with sktime's
``ExpandingWindowSplitter`` (each fold trains on everything before its cutoff and forecasts the
next ``horizon`` steps), and every model is scored by MASE (seasonal, ``sp`` steps) and sMAPE,
averaged over the folds, on the original scale. Models are sktime forecasters: iTransformer
and Pathformer through our wrappers, DLinear through sktime's ``LTSFDLinearForecaster``, the
Theta method, and a seasonal-naive baseline.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import numpy as np
from pydantic import Field

from sciformers.core import Config
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.tasks import TaskSpec, register_task
from sciformers.timeseries.forecasting.forecasters import ITransformerForecaster, PathformerForecaster
from sciformers.timeseries.forecasting.loaders import BUILTIN_SERIES, load_builtin_series


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


def _sktime_model(name: str, kwargs: dict[str, Any], cfg: ExpandingWindowConfig, seed: int) -> Any:
    """The sktime forecaster behind a registry name of the pipeline."""
    from sktime.forecasting.ltsf import LTSFDLinearForecaster
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.forecasting.theta import ThetaForecaster

    builders: dict[str, Callable[[], Any]] = {
        "timeseries.itransformer": lambda: ITransformerForecaster(**kwargs, random_state=seed),
        "timeseries.pathformer": lambda: PathformerForecaster(**kwargs, random_state=seed),
        "dlinear": lambda: LTSFDLinearForecaster(pred_len=cfg.horizon, **kwargs),
        "theta": lambda: ThetaForecaster(sp=cfg.sp, **kwargs),
        "seasonal_naive": lambda: NaiveForecaster(strategy="last", sp=cfg.sp),
    }
    if name not in builders:
        raise ValueError(f"timeseries.expanding_window: no sktime forecaster for model {name!r}; "
                         f"available: {', '.join(builders)}")
    return builders[name]()


class ExpandingWindowTask(TaskSpec):
    """Expanding-window evaluation of sktime forecasters on a shipped real series."""

    name = "timeseries.expanding_window"
    version = "1"
    domain = "timeseries"
    description = ("sktime forecasters on a real univariate series (default Airline), expanding-window folds, "
                   "seasonal MASE and sMAPE averaged over folds on the original scale.")
    metrics = ()  # mase_h<H>, smape_h<H>
    baseline = "seasonal_naive"
    data_card = "sktime_forecasting_series.md"
    data_schema = ExpandingWindowConfig

    def run(self, ctx: RunContext) -> Iterator[RunRecord]:
        cfg = ctx.data
        assert isinstance(cfg, ExpandingWindowConfig)
        if cfg.series not in BUILTIN_SERIES:
            raise ValueError(f"data.series: unknown series {cfg.series!r}; available: {', '.join(BUILTIN_SERIES)}")
        y = load_builtin_series(cfg.series).iloc[:, 0]
        if len(y) < cfg.initial_window + cfg.horizon:
            raise ValueError(f"data.initial_window: {cfg.initial_window} + horizon {cfg.horizon} exceeds the "
                             f"{len(y)} steps of {cfg.series!r}")
        entries = [(self.baseline, self.baseline, {})]
        entries += [(name, e.model, {**ctx.model_defaults, **e.kwargs}) for name, e in ctx.models.items()]
        for name, model_name, kwargs in entries:
            for seed in ctx.seeds:
                if not ctx.is_done(self.name, name, seed):
                    ctx.say(f"{self.name}: {name} (seed {seed})")
                    yield self._run_one(ctx, cfg, y, name, model_name, kwargs, seed)

    def _run_one(self, ctx: RunContext, cfg: ExpandingWindowConfig, y: Any, name: str, model_name: str,
                 kwargs: dict[str, Any], seed: int) -> RunRecord:
        from sktime.split import ExpandingWindowSplitter
        from sktime.performance_metrics.forecasting import mean_absolute_percentage_error, mean_absolute_scaled_error

        fh = np.arange(1, cfg.horizon + 1)
        splitter = ExpandingWindowSplitter(fh=fh, initial_window=cfg.initial_window, step_length=cfg.step_length)
        mase, smape = [], []
        fit_s = eval_s = 0.0
        for train_idx, test_idx in splitter.split(y):
            y_train, y_test = y.iloc[train_idx], y.iloc[test_idx]
            model = _sktime_model(model_name, kwargs, cfg, seed)
            t0 = time.perf_counter()
            model.fit(y_train, fh=fh)
            t1 = time.perf_counter()
            pred = model.predict()
            eval_s += time.perf_counter() - t1
            fit_s += t1 - t0
            mase.append(float(mean_absolute_scaled_error(y_test, pred, y_train=y_train, sp=cfg.sp)))
            smape.append(float(mean_absolute_percentage_error(y_test, pred, symmetric=True)))
        network = getattr(model, "network_", None) or getattr(model, "network", None)  # ours / sktime's LTSF
        n_params = sum(p.numel() for p in network.parameters()) if network is not None else 0
        metrics = {f"mase_h{cfg.horizon}": float(np.mean(mase)), f"smape_h{cfg.horizon}": float(np.mean(smape))}
        return ctx.record(task=self, model=name, seed=seed, n_params=n_params, metrics=metrics, fit_s=fit_s,
                          eval_s=eval_s, infer_ms_per_sample=1000 * eval_s / max(len(mase), 1),
                          higher_is_better={k: False for k in metrics})


EXPANDING_WINDOW = register_task(ExpandingWindowTask())
