"""Long-horizon forecasting: iTransformer (Liu et al., ICLR 2024) and Pathformer (Chen et al., ICLR 2024).

Networks map a lookback window to a horizon (:class:`WindowForecaster`); the sktime
forecasters wrap them for ``fit(y, fh=...)`` / ``predict()``. The benchmark tasks are harness
modules, imported on demand: ``timeseries.long_horizon`` (``forecasting.task``) runs the networks
beside DLinear, PatchTST and seasonal naive; ``timeseries.expanding_window``
(``forecasting.realdata``) runs the sktime forecasters of :mod:`.sktime_models` on Airline.
"""

from typing import Any

from sciformers.timeseries.forecasting.base import WindowForecaster
from sciformers.timeseries.forecasting.ettlike import ETT_COLUMNS, ETTLikeConfig, ettlike_csv, generate_ettlike
from sciformers.timeseries.forecasting.itransformer import InvertedEncoderLayer, ITransformer
from sciformers.timeseries.forecasting.loaders import BUILTIN_SERIES, load_builtin_series, read_series_csv, validate_series
from sciformers.timeseries.forecasting.pathformer import (
    AdaptiveMultiScaleBlock,
    DualAttentionScale,
    MultiScaleRouter,
    Pathformer,
)
from sciformers.timeseries.forecasting.peers import DLinear, PatchTST, SeasonalNaive
from sciformers.timeseries.forecasting.revin import RevIN
from sciformers.timeseries.forecasting.windows import LongHorizonData, Standardizer, WindowDataset, split_borders
from sciformers.timeseries.forecasting import sktime_models  # noqa: F401  (registers the sktime forecasters)

#: The sktime wrappers (``forecasters``, which imports sktime: ~1 s) load on first use; not in
#: ``__all__``, so a star import does not load them either.
FORECASTER_NAMES = ("ITransformerForecaster", "PathformerForecaster")


def __getattr__(name: str) -> Any:
    if name in FORECASTER_NAMES:
        from sciformers.timeseries.forecasting import forecasters

        return getattr(forecasters, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "AdaptiveMultiScaleBlock",
    "BUILTIN_SERIES",
    "DLinear",
    "DualAttentionScale",
    "ETTLikeConfig",
    "ETT_COLUMNS",
    "ITransformer",
    "InvertedEncoderLayer",
    "LongHorizonData",
    "MultiScaleRouter",
    "PatchTST",
    "Pathformer",
    "RevIN",
    "SeasonalNaive",
    "Standardizer",
    "WindowDataset",
    "WindowForecaster",
    "ettlike_csv",
    "generate_ettlike",
    "load_builtin_series",
    "read_series_csv",
    "split_borders",
    "validate_series",
]
