"""Time series classification: ShapeFormer (Le et al., KDD 2024) with Offline Shapelet Discovery.

>>> from sciformers.timeseries import ShapeFormerClassifier, load_shipped
>>> data = load_shipped("BasicMotions")

The benchmark task (``classification.task``) and ``sciformers predict timeseries``
(``classification.predict``) are harness modules, imported on demand (see ``TASK_MODULES``).
"""

import importlib.util

if importlib.util.find_spec("sktime") is None:  # pragma: no cover
    raise ImportError("sciformers.timeseries classification needs sktime: pip install 'sciformers[timeseries]'")

from sciformers.timeseries.classification.classifier import (  # noqa: E402
    ShapeFormerClassifier,
    load_classifier,
    save_classifier,
)
from sciformers.timeseries.classification.data import (  # noqa: E402
    SHIPPED,
    ClassificationData,
    load_shipped,
    load_ts,
    load_ts_pair,
    pad_panel,
    read_ts,
    validate_panel,
)
from sciformers.timeseries.classification.discovery import Shapelet, discover_shapelets, information_gain  # noqa: E402
from sciformers.timeseries.classification.peers import convtran, dtw_1nn, minirocket  # noqa: E402
from sciformers.timeseries.classification.planted import PlantedConfig, generate_split, planted_dataset  # noqa: E402
from sciformers.timeseries.classification.shapeformer import ShapeFormer, ShapeletFilter  # noqa: E402

__all__ = [
    "SHIPPED",
    "ClassificationData",
    "PlantedConfig",
    "ShapeFormer",
    "ShapeFormerClassifier",
    "Shapelet",
    "ShapeletFilter",
    "convtran",
    "discover_shapelets",
    "dtw_1nn",
    "generate_split",
    "information_gain",
    "load_classifier",
    "load_shipped",
    "load_ts",
    "load_ts_pair",
    "minirocket",
    "pad_panel",
    "planted_dataset",
    "read_ts",
    "save_classifier",
    "validate_panel",
]
