"""sciformers.timeseries: ShapeFormer for classification; iTransformer and Pathformer for forecasting."""

from typing import Any

from sciformers.timeseries.classification import *  # noqa: F401,F403
from sciformers.timeseries.classification import CLASSIFIER_NAMES
from sciformers.timeseries.forecasting import *  # noqa: F401,F403
from sciformers.timeseries.forecasting import FORECASTER_NAMES


def __getattr__(name: str) -> Any:
    """The sktime estimators (``ShapeFormerClassifier``, ``load_classifier``, ``save_classifier``,
    ``ITransformerForecaster``, ``PathformerForecaster``): imported, with sktime, on first use."""
    if name in CLASSIFIER_NAMES:
        from sciformers.timeseries import classification

        return getattr(classification, name)
    if name in FORECASTER_NAMES:
        from sciformers.timeseries import forecasting

        return getattr(forecasting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: The harness side (the tasks, their datasets, metrics and the predictor), imported on demand by
#: ``sciformers.evaluation``: importing this package loads no harness.
TASK_MODULES = (
    "sciformers.timeseries.metrics",
    "sciformers.timeseries.classification.task",
    "sciformers.timeseries.classification.predict",
    "sciformers.timeseries.forecasting.task",
    "sciformers.timeseries.forecasting.realdata",
)
