"""The sktime forecasters of the real-data task (``timeseries.expanding_window``) as registry entries.

Every entry is an estimator (``fit(y, fh=...)`` / ``predict()`` of its own) and takes the task's
``horizon`` (the forecast steps), ``sp`` (the seasonal period) and ``random_state`` (the seed),
ignored where they mean nothing, beside the pipeline's keyword arguments:

- ``timeseries.itransformer_forecaster`` / ``timeseries.pathformer_forecaster``: our wrappers
  (:mod:`~sciformers.timeseries.forecasting.forecasters`) around the networks registered as
  ``timeseries.itransformer`` / ``timeseries.pathformer``;
- ``dlinear_forecaster``: sktime's ``LTSFDLinearForecaster`` (``dlinear`` is our DLinear network);
- ``theta``: sktime's ``ThetaForecaster`` (Assimakopoulos and Nikolopoulos 2000);
- ``seasonal_naive_forecaster``: sktime's ``NaiveForecaster(strategy="last", sp=sp)``, the real-data
  task's baseline (``seasonal_naive`` is the long-horizon task's torch module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sciformers.core import register_model

if TYPE_CHECKING:  # the wrappers subclass sktime's BaseForecaster: imported when one is built
    from sciformers.timeseries.forecasting.forecasters import ITransformerForecaster, PathformerForecaster


@register_model("timeseries.itransformer_forecaster", kind="estimator",
                test_kwargs={"window_length": 4, "d_model": 8, "heads": 2, "d_ff": 8, "depth": 1, "num_epochs": 1})
def itransformer_forecaster(horizon: int = 1, sp: int = 1, random_state: int | None = None,
                            **kwargs: Any) -> "ITransformerForecaster":
    """:class:`ITransformerForecaster` seeded by ``random_state``."""
    from sciformers.timeseries.forecasting.forecasters import ITransformerForecaster

    return ITransformerForecaster(**kwargs, random_state=random_state)


@register_model("timeseries.pathformer_forecaster", kind="estimator",
                test_kwargs={"window_length": 4, "patch_sizes": [[2, 4]], "top_k": 1, "d_model": 2, "d_ff": 4,
                             "num_epochs": 1})
def pathformer_forecaster(horizon: int = 1, sp: int = 1, random_state: int | None = None,
                          **kwargs: Any) -> "PathformerForecaster":
    """:class:`PathformerForecaster` seeded by ``random_state``."""
    from sciformers.timeseries.forecasting.forecasters import PathformerForecaster

    return PathformerForecaster(**kwargs, random_state=random_state)


@register_model("dlinear_forecaster", kind="estimator", test_kwargs={"horizon": 2, "seq_len": 4, "num_epochs": 1})
def dlinear_forecaster(horizon: int = 1, sp: int = 1, random_state: int | None = None, **kwargs: Any) -> Any:
    """sktime's ``LTSFDLinearForecaster`` for ``horizon`` steps (it draws from torch's global generator)."""
    from sktime.forecasting.ltsf import LTSFDLinearForecaster

    return LTSFDLinearForecaster(pred_len=horizon, **kwargs)


@register_model("theta", kind="estimator", test_kwargs={"sp": 4})
def theta(horizon: int = 1, sp: int = 1, random_state: int | None = None, **kwargs: Any) -> Any:
    """sktime's ``ThetaForecaster`` with seasonal period ``sp`` (deterministic)."""
    from sktime.forecasting.theta import ThetaForecaster

    return ThetaForecaster(sp=sp, **kwargs)


@register_model("seasonal_naive_forecaster", kind="estimator", test_kwargs={"sp": 4})
def seasonal_naive_forecaster(horizon: int = 1, sp: int = 1, random_state: int | None = None, **kwargs: Any) -> Any:
    """sktime's ``NaiveForecaster`` repeating the last season of ``sp`` steps (deterministic)."""
    from sktime.forecasting.naive import NaiveForecaster

    return NaiveForecaster(strategy="last", sp=sp, **kwargs)


def network_params(forecaster: Any) -> int:
    """Weights of a fitted forecaster's network (ours: ``network_``, sktime's LTSF: ``network``); else 0."""
    network = getattr(forecaster, "network_", None) or getattr(forecaster, "network", None)
    return sum(p.numel() for p in network.parameters()) if network is not None else 0
