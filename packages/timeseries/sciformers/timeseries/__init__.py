"""sciformers.timeseries: ShapeFormer for classification; iTransformer and Pathformer for forecasting."""

from sciformers.timeseries.classification import *  # noqa: F401,F403
from sciformers.timeseries.forecasting import *  # noqa: F401,F403

#: The harness side (the tasks, their datasets, metrics and the predictor), imported on demand by
#: ``sciformers.evaluation``: importing this package loads no harness.
TASK_MODULES = (
    "sciformers.timeseries.metrics",
    "sciformers.timeseries.classification.task",
    "sciformers.timeseries.classification.predict",
    "sciformers.timeseries.forecasting.task",
    "sciformers.timeseries.forecasting.realdata",
)
