"""sciformers.timeseries: ShapeFormer for classification; iTransformer and Pathformer for forecasting."""

from sciformers.timeseries.classification import *  # noqa: F401,F403
from sciformers.timeseries.forecasting import *  # noqa: F401,F403
